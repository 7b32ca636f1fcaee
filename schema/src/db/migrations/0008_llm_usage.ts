import type { Kysely } from "kysely";

// Tokens tool code spent through ctx.llm (the platform's model), one row per org, server and
// minute, summed by upsert as completions finish. No foreign keys: what an org spent is still
// owed after the server (or the org) is deleted.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("llm_usage")
    .addColumn("org_id", "uuid", (c) => c.notNull())
    .addColumn("server_id", "uuid", (c) => c.notNull())
    .addColumn("minute", "timestamptz", (c) => c.notNull())
    .addColumn("calls", "integer", (c) => c.notNull())
    // double precision, not bigint: pg and PGlite return int8 differently.
    .addColumn("input_tokens", "double precision", (c) => c.notNull())
    .addColumn("output_tokens", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("llm_usage_pkey", ["org_id", "server_id", "minute"])
    .execute();
  await db.schema.createIndex("llm_usage_org_minute_idx").on("llm_usage").columns(["org_id", "minute"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("llm_usage").execute();
}
