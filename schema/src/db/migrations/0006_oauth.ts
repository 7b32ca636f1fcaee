import { type Kysely, sql } from "kysely";

// The OAuth 2.1 authorization server's state (oidc-provider's models) and its signing keys.
//
// oauth_models: one table for every model (clients, grants, sessions, interactions, codes,
// refresh tokens...), keyed by (model, id) with the library's payload as jsonb. Ids that are
// bearer tokens are stored as sha256 hashes. The columns beside the payload are the lookups
// the library and the grants API make: by grant (revocation), by uid (sessions), by user code,
// by account (a user's grants), and by expiry (the sweeper).
//
// oauth_signing_keys: the private JWKs that sign access tokens, encrypted with the secrets key
// (AES-256-GCM, like secrets), each with the moment it starts signing and the moment it is no
// longer published (rotation keeps an old key until every token it signed has expired).

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("oauth_models")
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("payload", "jsonb", (c) => c.notNull())
    .addColumn("grant_id", "text")
    .addColumn("uid", "text")
    .addColumn("user_code", "text")
    .addColumn("account_id", "text")
    .addColumn("expires_at", "timestamptz")
    .addColumn("consumed_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("oauth_models_pkey", ["model", "id"])
    .execute();
  await db.schema.createIndex("oauth_models_grant_id_idx").on("oauth_models").column("grant_id").execute();
  await db.schema.createIndex("oauth_models_uid_idx").on("oauth_models").columns(["model", "uid"]).execute();
  await db.schema
    .createIndex("oauth_models_user_code_idx")
    .on("oauth_models")
    .columns(["model", "user_code"])
    .execute();
  await db.schema
    .createIndex("oauth_models_account_id_idx")
    .on("oauth_models")
    .columns(["model", "account_id"])
    .execute();
  await db.schema.createIndex("oauth_models_expires_at_idx").on("oauth_models").column("expires_at").execute();

  await db.schema
    .createTable("oauth_signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("alg", "text", (c) => c.notNull())
    /** The public JWK, as published. */
    .addColumn("public_jwk", "jsonb", (c) => c.notNull())
    /** base64 of the private JWK's AES-256-GCM ciphertext + tag, its nonce, and the secret key's fingerprint. */
    .addColumn("ciphertext", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("signs_from", "timestamptz", (c) => c.notNull())
    .addColumn("expires_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("oauth_signing_keys").execute();
  await db.schema.dropTable("oauth_models").execute();
}
