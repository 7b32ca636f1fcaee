import type { Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { open, type Sealed, SecretCipherError, seal } from "./cipher.ts";
import type { SecretKey } from "./key.ts";

type Db = Kysely<Database>;

/**
 * What a value is bound to. The server id, so that a ciphertext copied into another server's
 * row does not open; and the name, so that two of one server's values swapped between rows do
 * not either (code that sends API_KEY to one host must never receive the value of another).
 */
export const associatedData = (serverId: string, name: string) => `isola-secret\0${serverId}\0${name}`;

export function sealSecret(key: SecretKey, serverId: string, name: string, value: string) {
  return { ...seal(key.bytes, value, associatedData(serverId, name)), key_id: key.id };
}

/** Decrypts one stored row, or throws an error that names the row and the key, never the value. */
export function openSecret(key: SecretKey, row: Sealed & { server_id: string; name: string; key_id: string }): string {
  return openSealed(
    key,
    row,
    associatedData(row.server_id, row.name),
    `the secret ${row.name} of server ${row.server_id}`,
  );
}

/** Decrypts a sealed value stored with its key's fingerprint; `where` names it in errors (never the value). */
export function openSealed(
  key: SecretKey,
  row: Sealed & { key_id: string },
  associated: string,
  where: string,
): string {
  if (row.key_id !== key.id) {
    throw new SecretCipherError(
      `${where} was encrypted with key ${row.key_id}, but this node's key is ${key.id}: ` +
        "set ISOLA_SECRET_KEY to the key that wrote it (after a rotation, to the new key on every node)",
    );
  }
  try {
    return open(key.bytes, row, associated);
  } catch (error) {
    throw new SecretCipherError(`${where} cannot be decrypted with key ${key.id}: ${(error as Error).message}`);
  }
}

/** What the API may say about a stored secret: never its value. */
export interface StoredSecret {
  name: string;
  updatedAt: Date;
  revision: number;
}

const toStored = (row: { name: string; updated_at: Date; revision: number }): StoredSecret => ({
  name: row.name,
  updatedAt: row.updated_at,
  revision: row.revision,
});

export interface SecretVault {
  /** The fingerprint of the key this vault encrypts with. */
  readonly keyId: string;
  /** Creates or replaces; pass `db` to act inside a transaction. */
  set(serverId: string, name: string, value: string, db?: Db): Promise<StoredSecret>;
  /** Replaces the value only if it is still at `revision`: null when it moved on or is not set. */
  replace(serverId: string, name: string, value: string, revision: number, db?: Db): Promise<StoredSecret | null>;
  /** The server's secret names with their updated-at and revision, by name. Never values. */
  names(serverId: string, db?: Db): Promise<StoredSecret[]>;
  /** Whether there was one to delete. */
  delete(serverId: string, name: string, db?: Db): Promise<boolean>;
  /** Every secret of the server, decrypted: what its tool code reads as `env`. The runtime's path. */
  envFor(serverId: string): Promise<Record<string, string>>;
}

/** Secrets at rest: AES-256-GCM under one key, values leave only through envFor. */
export function createSecretVault({ db, key }: { db: Db; key: SecretKey }): SecretVault {
  return {
    keyId: key.id,

    async set(serverId, name, value, executor = db) {
      const sealed = sealSecret(key, serverId, name, value);
      const row = await executor
        .insertInto("secrets")
        .values({ server_id: serverId, name, ...sealed })
        .onConflict((conflict) =>
          conflict.columns(["server_id", "name"]).doUpdateSet({
            ...sealed,
            revision: sql<number>`secrets.revision + 1`,
            updated_at: sql<Date>`now()`,
          }),
        )
        .returning(["name", "updated_at", "revision"])
        .executeTakeFirstOrThrow();
      return toStored(row);
    },

    async replace(serverId, name, value, revision, executor = db) {
      const row = await executor
        .updateTable("secrets")
        .set({
          ...sealSecret(key, serverId, name, value),
          revision: sql<number>`revision + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where("server_id", "=", serverId)
        .where("name", "=", name)
        .where("revision", "=", revision)
        .returning(["name", "updated_at", "revision"])
        .executeTakeFirst();
      return row ? toStored(row) : null;
    },

    async names(serverId, executor = db) {
      const rows = await executor
        .selectFrom("secrets")
        .select(["name", "updated_at", "revision"])
        .where("server_id", "=", serverId)
        .orderBy("name")
        .execute();
      return rows.map(toStored);
    },

    async delete(serverId, name, executor = db) {
      const deleted = await executor
        .deleteFrom("secrets")
        .where("server_id", "=", serverId)
        .where("name", "=", name)
        .returning("name")
        .executeTakeFirst();
      return deleted !== undefined;
    },

    async envFor(serverId) {
      const rows = await db
        .selectFrom("secrets")
        .select(["server_id", "name", "ciphertext", "nonce", "key_id"])
        .where("server_id", "=", serverId)
        .orderBy("name")
        .execute();
      return Object.fromEntries(rows.map((row) => [row.name, openSecret(key, row)]));
    },
  };
}
