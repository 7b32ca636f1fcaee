import type { Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { seal } from "./cipher.ts";
import type { SecretKey } from "./key.ts";
import { openSealed } from "./vault.ts";

// Secrets of an org as a whole, sealed like a server's secrets and bound to the org and the name.
// Values leave only towards a model client (`get`), never in a response, log line or audit entry.

/** The org's own key for the Anthropic Messages API: builds and ctx.llm use it before the instance's. */
export const ORG_MODEL_KEY = "ANTHROPIC_API_KEY";

type Db = Kysely<Database>;

const associated = (orgId: string, name: string) => `isola-org-secret\0${orgId}\0${name}`;

export function sealOrgSecret(key: SecretKey, orgId: string, name: string, value: string) {
  return { ...seal(key.bytes, value, associated(orgId, name)), key_id: key.id };
}

export function openOrgSecret(
  key: SecretKey,
  row: { org_id: string; name: string; ciphertext: string; nonce: string; key_id: string },
): string {
  return openSealed(key, row, associated(row.org_id, row.name), `the secret ${row.name} of org ${row.org_id}`);
}

export function createOrgSecrets({ db, key }: { db: Db; key: SecretKey }) {
  return {
    async set(orgId: string, name: string, value: string, executor: Db = db): Promise<{ updatedAt: Date }> {
      const sealed = sealOrgSecret(key, orgId, name, value);
      const row = await executor
        .insertInto("org_secrets")
        .values({ org_id: orgId, name, ...sealed })
        .onConflict((conflict) =>
          conflict.columns(["org_id", "name"]).doUpdateSet({ ...sealed, updated_at: sql<Date>`now()` }),
        )
        .returning("updated_at")
        .executeTakeFirstOrThrow();
      return { updatedAt: row.updated_at };
    },
    /** When it was last set, or undefined when it is not. */
    async updatedAt(orgId: string, name: string): Promise<Date | undefined> {
      const row = await db
        .selectFrom("org_secrets")
        .select("updated_at")
        .where("org_id", "=", orgId)
        .where("name", "=", name)
        .executeTakeFirst();
      return row?.updated_at;
    },
    /** The value, decrypted, or undefined when it is not set. */
    async get(orgId: string, name: string): Promise<string | undefined> {
      const row = await db
        .selectFrom("org_secrets")
        .selectAll()
        .where("org_id", "=", orgId)
        .where("name", "=", name)
        .executeTakeFirst();
      return row ? openOrgSecret(key, row) : undefined;
    },
    async delete(orgId: string, name: string, executor: Db = db): Promise<boolean> {
      const result = await executor
        .deleteFrom("org_secrets")
        .where("org_id", "=", orgId)
        .where("name", "=", name)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type OrgSecrets = ReturnType<typeof createOrgSecrets>;

/** Moves every org secret to `newKey` (inside the rotation's transaction); how many moved. */
export async function resealOrgSecrets(trx: Db, oldKey: SecretKey, newKey: SecretKey): Promise<number> {
  const rows = await trx.selectFrom("org_secrets").selectAll().orderBy("org_id").orderBy("name").forUpdate().execute();
  let count = 0;
  for (const row of rows) {
    if (row.key_id === newKey.id) continue;
    await trx
      .updateTable("org_secrets")
      .set(sealOrgSecret(newKey, row.org_id, row.name, openOrgSecret(oldKey, row)))
      .where("org_id", "=", row.org_id)
      .where("name", "=", row.name)
      .execute();
    count += 1;
  }
  return count;
}
