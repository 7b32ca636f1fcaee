import { type Kysely, sql } from "kysely";

// The control plane's system of record: sessions, invitations, tokens, plans, servers and
// their immutable versions, deployments, secrets, API keys, audit and idempotency.
// Binary values (ciphertexts, nonces) are base64 text: PGlite and pg return bytea differently.

const ROLE_CHECK = sql`role in ('owner', 'admin', 'member', 'viewer')`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("plans")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("max_servers", "integer", (c) => c.notNull())
    .addColumn("calls_per_month", "integer", (c) => c.notNull())
    .addColumn("memory_mb", "integer", (c) => c.notNull())
    .addColumn("rate_limit_per_minute", "integer", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .alterTable("orgs")
    .addColumn("plan_id", "text", (c) => c.references("plans.id"))
    .execute();
  await db.schema.alterTable("users").addColumn("password_hash", "text").execute();

  await db.schema
    .createTable("sessions")
    // sha256 of the cookie's token: a database leak yields no usable session.
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "uuid", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("csrf_token", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sessions_user_id_idx").on("sessions").column("user_id").execute();

  await db.schema
    .createTable("invitations")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("org_id", "uuid", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().check(ROLE_CHECK))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("invited_by", "uuid", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("accepted_at", "timestamptz")
    .execute();

  await db.schema
    .createTable("personal_access_tokens")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("user_id", "uuid", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("org_id", "uuid", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz")
    .addColumn("revoked_at", "timestamptz")
    .addColumn("last_used_at", "timestamptz")
    .execute();

  await db.schema
    .createTable("servers")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("org_id", "uuid", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("slug", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("auth_mode", "text", (c) => c.notNull().check(sql`auth_mode in ('oauth', 'api_key', 'public')`))
    .addColumn("access_policy", "jsonb", (c) => c.notNull().defaultTo(sql`'{"kind":"org"}'::jsonb`))
    .addColumn("egress_approved", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("status", "text", (c) =>
      c.notNull().defaultTo("draft").check(sql`status in ('draft', 'live', 'paused', 'failed')`),
    )
    .addColumn("active_version_id", "uuid")
    // Bumped by every update: the ETag, so that concurrent edits cannot overwrite each other.
    .addColumn("revision", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_by", "uuid", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("servers_org_id_idx").on("servers").column("org_id").execute();

  await db.schema
    .createTable("server_versions")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("server_id", "uuid", (c) => c.notNull().references("servers.id").onDelete("cascade"))
    .addColumn("number", "integer", (c) => c.notNull())
    .addColumn("source", "jsonb", (c) => c.notNull())
    .addColumn("bundle", "text", (c) => c.notNull())
    .addColumn("manifest", "jsonb", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("compiler_version", "text", (c) => c.notNull())
    .addColumn("build_log", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("created_by", "uuid", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint("server_versions_server_id_number_key", ["server_id", "number"])
    .execute();
  await db.schema.createIndex("server_versions_hash_idx").on("server_versions").column("hash").execute();
  await db.schema
    .alterTable("servers")
    .addForeignKeyConstraint("servers_active_version_id_fkey", ["active_version_id"], "server_versions", ["id"])
    .onDelete("set null")
    .execute();

  await db.schema
    .createTable("deployments")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("server_id", "uuid", (c) => c.notNull().references("servers.id").onDelete("cascade"))
    .addColumn("version_id", "uuid", (c) => c.notNull().references("server_versions.id").onDelete("cascade"))
    .addColumn("previous_version_id", "uuid", (c) => c.references("server_versions.id").onDelete("set null"))
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('deploy', 'rollback')`))
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex("deployments_server_id_idx")
    .on("deployments")
    .columns(["server_id", "created_at"])
    .execute();

  await db.schema
    .createTable("secrets")
    .addColumn("server_id", "uuid", (c) => c.notNull().references("servers.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("ciphertext", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    // Which key encrypted it (a fingerprint), so that rotation knows what to re-encrypt.
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("secrets_pkey", ["server_id", "name"])
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("server_id", "uuid", (c) => c.notNull().references("servers.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("rate_limit_per_minute", "integer")
    .addColumn("expires_at", "timestamptz")
    .addColumn("revoked_at", "timestamptz")
    .addColumn("created_by", "uuid", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("last_used_at", "timestamptz")
    .execute();
  await db.schema.createIndex("api_keys_server_id_idx").on("api_keys").column("server_id").execute();

  await db.schema
    .createTable("audit_log")
    .addColumn("id", "bigint", (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn("org_id", "uuid", (c) => c.references("orgs.id").onDelete("set null"))
    .addColumn("actor_type", "text", (c) => c.notNull().check(sql`actor_type in ('user', 'token', 'system')`))
    .addColumn("actor_id", "text")
    .addColumn("actor_label", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("target_type", "text", (c) => c.notNull())
    .addColumn("target_id", "text")
    .addColumn("source_ip", "text")
    .addColumn("detail", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("audit_log_org_id_idx").on("audit_log").columns(["org_id", "id"]).execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("status", "integer", (c) => c.notNull())
    .addColumn("response", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("idempotency_keys_pkey", ["actor", "key"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ["idempotency_keys", "audit_log", "api_keys", "secrets", "deployments"]) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable("servers").dropConstraint("servers_active_version_id_fkey").execute();
  for (const table of ["server_versions", "servers", "personal_access_tokens", "invitations", "sessions"]) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable("users").dropColumn("password_hash").execute();
  await db.schema.alterTable("orgs").dropColumn("plan_id").execute();
  await db.schema.dropTable("plans").execute();
}
