import type { Database } from "@isola/schema";
import type { Kysely } from "kysely";
import { resealSigningKeys } from "../oauth/signing-keys.ts";
import type { SecretKey } from "./key.ts";
import { resealOrgSecrets } from "./org-secrets.ts";
import { openSecret, sealSecret } from "./vault.ts";

/**
 * Re-encrypts every stored secret (servers' and orgs', and the OAuth signing keys) from `oldKey` to `newKey` in one
 * transaction: either all of them move to the new key or none does (a row that does not open rolls everything back).
 * Rows already under the new key are left alone, so that an interrupted rotation can be run
 * again. `updated_at` keeps meaning "when the value changed": rotation does not touch it.
 * Returns how many rows were re-encrypted.
 */
export async function rotateSecretKey(db: Kysely<Database>, oldKey: SecretKey, newKey: SecretKey): Promise<number> {
  if (oldKey.id === newKey.id) throw new Error(`the new key is the current key (${oldKey.id}); choose another`);
  return db.transaction().execute(async (trx) => {
    // Locks the rows: a value replaced meanwhile must not be overwritten with the one read here.
    const rows = await trx
      .selectFrom("secrets")
      .select(["server_id", "name", "ciphertext", "nonce", "key_id"])
      .orderBy("server_id")
      .orderBy("name")
      .forUpdate()
      .execute();
    let count = 0;
    for (const row of rows) {
      if (row.key_id === newKey.id) continue;
      const value = openSecret(oldKey, row);
      await trx
        .updateTable("secrets")
        .set(sealSecret(newKey, row.server_id, row.name, value))
        .where("server_id", "=", row.server_id)
        .where("name", "=", row.name)
        .execute();
      count += 1;
    }
    // Org secrets and the OAuth signing keys are encrypted with the same key: they move with the secrets.
    count += await resealOrgSecrets(trx, oldKey, newKey);
    await resealSigningKeys(trx, oldKey, newKey);
    return count;
  });
}
