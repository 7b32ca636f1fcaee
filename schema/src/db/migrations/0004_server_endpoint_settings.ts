import { type Kysely, sql } from "kysely";

// How a server's MCP endpoint is reached: browser origins allowed to call it (never "*"),
// the legacy HTTP+SSE transport switch (off by default), and a custom domain.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("servers")
    .addColumn("allowed_origins", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("legacy_sse", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("custom_domain", "text", (c) => c.unique())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("servers")
    .dropColumn("allowed_origins")
    .dropColumn("legacy_sse")
    .dropColumn("custom_domain")
    .execute();
}
