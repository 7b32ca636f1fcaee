import type { Database } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { actorLabel } from "../auth/actor.ts";

export interface AuditEntry {
  orgId: string | null;
  /** dotted, past-tense-free verbs: server.create, version.create, server.deploy, secret.set, ... */
  action: string;
  targetType: string;
  targetId: string | null;
  /** Never secret values: names and ids only. */
  detail?: Record<string, unknown>;
  /** Who acted, when not the request's caller (the holder of a password reset link is no signed-in caller). */
  actor?: { type: "user" | "token" | "system"; id: string | null; label: string };
}

/**
 * Records a mutation. Call it with the transaction that made the change, so that the change
 * and its record commit (or roll back) together.
 */
export async function recordAudit(
  db: Kysely<Database>,
  request: FastifyRequest | null,
  entry: AuditEntry,
): Promise<void> {
  const caller = request?.actor ?? null;
  const actor: NonNullable<AuditEntry["actor"]> = entry.actor ?? {
    type: caller ? (caller.via === "token" ? "token" : "user") : "system",
    id: caller ? (caller.via === "token" ? caller.tokenId : caller.userId) : null,
    label: caller ? actorLabel(caller) : "system",
  };
  await db
    .insertInto("audit_log")
    .values({
      org_id: entry.orgId,
      actor_type: actor.type,
      actor_id: actor.id,
      actor_label: actor.label,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      source_ip: request?.ip ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}
