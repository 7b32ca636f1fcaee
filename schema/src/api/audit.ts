import { z } from "zod";
import { pageQuery } from "./common.ts";

export const AUDIT_ACTOR_TYPES = ["user", "token", "system"] as const;

const datetime = z.iso.datetime({ offset: true, error: "expected an ISO 8601 date-time such as 2025-01-31T12:00:00Z" });

/** GET /orgs/{org}/audit: filters combine with AND; unknown parameters are refused so that typos do not widen a search. */
export const auditQuery = pageQuery
  .extend({
    /** An exact action (`server.create`), or a prefix ending in a dot (`server.`). */
    action: z
      .string()
      .max(100)
      .regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/, "an action such as server.create, or a prefix such as server.")
      .optional(),
    actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
    targetType: z.string().min(1).max(100).optional(),
    targetId: z.string().min(1).max(200).optional(),
    /** Entries at or after this time. */
    from: datetime.optional(),
    /** Entries before this time. */
    to: datetime.optional(),
  })
  .strict()
  .refine((query) => !query.from || !query.to || Date.parse(query.from) < Date.parse(query.to), {
    message: "from must be before to",
    path: ["from"],
  });

export const auditEntryView = z.object({
  /** Increasing; also the cursor's key. A string: it is a 64-bit integer. */
  id: z.string(),
  at: z.iso.datetime(),
  actor: z.object({ type: z.enum(AUDIT_ACTOR_TYPES), id: z.string().nullable(), label: z.string() }),
  action: z.string(),
  target: z.object({ type: z.string(), id: z.string().nullable() }),
  sourceIp: z.string().nullable(),
  /** Names and ids, never secret values. */
  detail: z.record(z.string(), z.unknown()),
});

export type AuditQuery = z.infer<typeof auditQuery>;
export type AuditEntryView = z.infer<typeof auditEntryView>;
