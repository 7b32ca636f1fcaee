import { z } from "zod";
import { ORG_ROLES } from "../db/tables.ts";
import { email } from "./accounts.ts";

const role = z.enum(ORG_ROLES);

/** Org slugs in paths are looked up as given: an unknown one is a 404, not a 400. */
export const orgParams = z.object({ org: z.string().min(1).max(100) });

/** A plan's limits, as the API shows them and as ISOLA_PLANS_FILE lists them. */
export const planView = z.object({
  id: z.string(),
  name: z.string(),
  maxServers: z.number().int(),
  callsPerMonth: z.number().int(),
  memoryMb: z.number().int(),
  rateLimitPerMinute: z.number().int(),
});

/** One entry of ISOLA_PLANS_FILE. The bounds keep values inside the database's integer columns. */
export const planDefinition = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, "1-40 lowercase letters, digits, - or _"),
    name: z.string().trim().min(1).max(100),
    maxServers: z.number().int().min(0).max(1_000_000),
    callsPerMonth: z.number().int().min(0).max(2_147_483_647),
    memoryMb: z.number().int().min(8).max(65_536),
    rateLimitPerMinute: z.number().int().min(1).max(1_000_000),
  })
  .strict();

/** The whole of ISOLA_PLANS_FILE: a JSON array of plans with distinct ids. */
export const plansFile = z
  .array(planDefinition)
  .min(1, "list at least one plan")
  .max(1000)
  .superRefine((plans, ctx) => {
    const seen = new Set<string>();
    plans.forEach((plan, index) => {
      if (seen.has(plan.id))
        ctx.addIssue({ code: "custom", path: [index, "id"], message: `${plan.id} is listed twice` });
      seen.add(plan.id);
    });
  });

export const orgView = z.object({
  slug: z.string(),
  name: z.string(),
  /** Your role in this org. */
  role,
  plan: planView,
  /** How many servers the org has (the plan's maxServers caps it). */
  servers: z.number().int(),
  /** Moves with every change of the org (its name): the ETag is "r<revision>". */
  revision: z.number().int(),
});

export const updateOrgBody = z.object({ name: z.string().trim().min(1).max(100) }).strict();

export const memberView = z.object({
  userId: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  role,
  joinedAt: z.iso.datetime(),
  /** Moves with every role change: the ETag to send as If-Match is "r<revision>". */
  revision: z.number().int(),
});

export const updateMemberBody = z.object({ role }).strict();

export const createInvitationBody = z.object({ email, role }).strict();

export const invitationView = z.object({
  id: z.uuid(),
  email: z.string(),
  role,
  expiresAt: z.iso.datetime(),
  /** The inviter's email; null when that account is gone. */
  invitedBy: z.string().nullable(),
});

/** Only the create response carries the link (it holds the single-use token). */
export const createdInvitation = z.object({
  id: z.uuid(),
  email: z.string(),
  role,
  expiresAt: z.iso.datetime(),
  link: z.string(),
});

export const acceptInvitationBody = z.object({ token: z.string().min(1).max(200) }).strict();

export const acceptedInvitation = z.object({ org: z.string(), role });

export type PlanView = z.infer<typeof planView>;
export type PlanDefinition = z.infer<typeof planDefinition>;
export type OrgView = z.infer<typeof orgView>;
export type MemberView = z.infer<typeof memberView>;
export type InvitationView = z.infer<typeof invitationView>;

/** Whether an org has its own model key (`PUT /orgs/{org}/model-key`); never the key. */
export const modelKeyView = z.object({ set: z.boolean(), updatedAt: z.iso.datetime().nullable() });
