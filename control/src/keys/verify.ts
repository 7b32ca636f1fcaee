import type { Database } from "@isola/schema";
import type { Kysely } from "kysely";
import { hashToken, TOKEN_PREFIXES } from "../auth/secrets-at-rest.ts";

export interface VerifiedApiKey {
  serverId: string;
  keyId: string;
  /** The caller's identity in usage and logs. */
  name: string;
  /** null: the plan's limit applies. */
  rateLimitPerMinute: number | null;
}

/** How often a key's last use is written: recording every call would be a write per call. */
const LAST_USED_EVERY_MS = 60_000;

/**
 * The key behind an MCP client's `isola_key_...`, or null when it is unknown, revoked or
 * expired. The runtime calls this on a cache miss and caches the answer until the control
 * plane announces `{ kind: "keys" }` for the server.
 */
export async function verifyApiKey(
  db: Kysely<Database>,
  key: string,
  now: Date = new Date(),
): Promise<VerifiedApiKey | null> {
  if (!key.startsWith(TOKEN_PREFIXES.apiKey)) return null;
  const row = await db
    .selectFrom("api_keys")
    .select(["id", "server_id", "name", "rate_limit_per_minute", "expires_at", "revoked_at", "last_used_at"])
    .where("key_hash", "=", hashToken(key))
    .executeTakeFirst();
  if (!row || row.revoked_at || (row.expires_at && row.expires_at <= now)) return null;
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() >= LAST_USED_EVERY_MS) {
    // Conditional in SQL too, so that many nodes verifying the same key at once write once.
    await db
      .updateTable("api_keys")
      .set({ last_used_at: now })
      .where("id", "=", row.id)
      .where((eb) =>
        eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<=", new Date(now.getTime() - LAST_USED_EVERY_MS))]),
      )
      .execute();
  }
  return { serverId: row.server_id, keyId: row.id, name: row.name, rateLimitPerMinute: row.rate_limit_per_minute };
}
