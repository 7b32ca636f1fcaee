import { z } from "zod";
import { ORG_ROLES } from "../db/tables.ts";

export const email = z
  .email()
  .max(254)
  .transform((value) => value.trim());
export const password = z.string().min(10, "at least 10 characters").max(200);

export const signupBody = z.object({ email, password, name: z.string().trim().min(1).max(100).optional() }).strict();
export const loginBody = z.object({ email, password: z.string().min(1).max(200) }).strict();

export const orgMembershipView = z.object({ slug: z.string(), name: z.string(), role: z.enum(ORG_ROLES) });

export const meView = z.object({
  user: z.object({ id: z.uuid(), email: z.string(), name: z.string().nullable() }),
  orgs: z.array(orgMembershipView),
  /** For browser sessions: send it as X-CSRF-Token with every write. */
  csrfToken: z.string().optional(),
});

export const createTokenBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** The org the token acts in; optional when you belong to one. */
    org: z.string().optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

export const tokenView = z.object({
  id: z.uuid(),
  name: z.string(),
  org: z.string(),
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});

/** Only the create response carries the token itself: it is never shown again. */
export const createdToken = tokenView.extend({ token: z.string() });

export type MeView = z.infer<typeof meView>;

/** How a message to a person is delivered. "log": no mail transport is configured, it is written to the server log. */
export const MAIL_DELIVERIES = ["log"] as const;
export type MailDelivery = (typeof MAIL_DELIVERIES)[number];

export const passwordResetBody = z.object({ email }).strict();

/** The same answer whether or not the email has an account: it does not tell which. */
export const passwordResetAccepted = z.object({
  /** "log": no mail transport is configured; an operator finds the link in the server log. */
  delivery: z.enum(MAIL_DELIVERIES),
  /** How long the link works (single use). */
  expiresInMinutes: z.number().int(),
});

export const passwordResetConfirmBody = z.object({ token: z.string().min(1).max(200), password }).strict();

export const passwordResetDone = z.object({
  email: z.string(),
  /** The account's browser sessions that were signed out (all of them). */
  sessionsEnded: z.number().int().min(0),
});
