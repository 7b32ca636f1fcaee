import { createHash } from "node:crypto";
import type { Database } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import { type Kysely, sql } from "kysely";
import { problem } from "./problems.ts";

const KEY = /^[\x21-\x7e]{1,200}$/;
/** How long an answer is kept for replay. */
export const IDEMPOTENCY_TTL_HOURS = 24;

function actorKey(request: FastifyRequest): string {
  const actor = request.actor;
  if (!actor) return `ip:${request.ip}`;
  return actor.via === "token" ? `token:${actor.tokenId}` : `user:${actor.userId}`;
}

/**
 * Runs a create at most once per Idempotency-Key (per caller): a retry with the same key and
 * body replays the first answer; the same key with another request is refused (422); a retry
 * while the first is still running gets 409. Failures are not remembered, so they may be retried.
 */
export async function withIdempotency(
  db: Kysely<Database>,
  request: FastifyRequest,
  run: () => Promise<{ status: number; body: unknown }>,
  options: { secretInResponse?: boolean } = {},
): Promise<{ status: number; body: unknown; replayed: boolean }> {
  const key = request.headers["idempotency-key"];
  if (key === undefined) return { ...(await run()), replayed: false };
  if (typeof key !== "string" || !KEY.test(key)) {
    throw problem("invalid-request", "Idempotency-Key must be 1-200 printable ASCII characters");
  }
  const actor = actorKey(request);
  const requestHash = createHash("sha256")
    .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
    .digest("hex");
  const reserved = await db
    .insertInto("idempotency_keys")
    .values({ actor, key, request_hash: requestHash, status: 0, response: "null" })
    .onConflict((c) => c.columns(["actor", "key"]).doNothing())
    .returning("key")
    .executeTakeFirst();
  if (!reserved) {
    const earlier = await db
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("actor", "=", actor)
      .where("key", "=", key)
      .executeTakeFirst();
    if (!earlier) return withIdempotency(db, request, run);
    if (earlier.request_hash !== requestHash) {
      throw problem("idempotency-key-reused", "this Idempotency-Key was used for a different request");
    }
    if (earlier.status === 0) throw problem("conflict", "a request with this Idempotency-Key is still in progress");
    const stored = earlier.response as { redacted?: boolean; id?: unknown } | null;
    if (stored?.redacted) {
      throw problem(
        "conflict",
        "this request already succeeded; the secret it returned is shown only once (revoke it and create another if it was lost)",
        {
          ...(typeof stored.id === "string" ? { id: stored.id } : {}),
        },
      );
    }
    return { status: earlier.status, body: earlier.response, replayed: true };
  }
  try {
    const result = await run();
    // A token, key or link is shown once and never stored in clear: keep only that it was made.
    const stored = options.secretInResponse
      ? { redacted: true, id: (result.body as { id?: unknown } | null)?.id }
      : (result.body ?? null);
    await db
      .updateTable("idempotency_keys")
      .set({ status: result.status, response: JSON.stringify(stored) })
      .where("actor", "=", actor)
      .where("key", "=", key)
      .execute();
    return { ...result, replayed: false };
  } catch (error) {
    await db.deleteFrom("idempotency_keys").where("actor", "=", actor).where("key", "=", key).execute();
    throw error;
  }
}

export async function sweepIdempotencyKeys(db: Kysely<Database>): Promise<void> {
  await db
    .deleteFrom("idempotency_keys")
    .where("created_at", "<", sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
    .execute();
}
