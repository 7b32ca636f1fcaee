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
  const actor = request?.actor ?? null;
  await db
    .insertInto("audit_log")
    .values({
      org_id: entry.orgId,
      actor_type: actor ? (actor.via === "token" ? "token" : "user") : "system",
      actor_id: actor ? (actor.via === "token" ? actor.tokenId : actor.userId) : null,
      actor_label: actor ? actorLabel(actor) : "system",
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      source_ip: request?.ip ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
}
