import type { Kysely } from "kysely";

// Revisions for the rows the API updates in place: orgs (PATCH /orgs/{org}), memberships (a
// member's role) and secrets (PUT, optionally conditional). Each update names the revision it
// read (If-Match) and bumps it in the same UPDATE ... WHERE revision = ?, as servers already do.

const TABLES = ["orgs", "memberships", "secrets"] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of TABLES) {
    // A constant default: existing rows get it without a rewrite on Postgres 15 and 18 alike.
    await db.schema
      .alterTable(table)
      .addColumn("revision", "integer", (c) => c.notNull().defaultTo(1))
      .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of TABLES) await db.schema.alterTable(table).dropColumn("revision").execute();
}
