import { type Kysely, sql } from "kysely";

// Secrets of an org as a whole, sealed like servers' secrets (bound to the org and the name).
// The first: ANTHROPIC_API_KEY, the org's own key for builds and ctx.llm.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("org_secrets")
    .addColumn("org_id", "uuid", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("ciphertext", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("org_secrets_pkey", ["org_id", "name"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("org_secrets").execute();
}
