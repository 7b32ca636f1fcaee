import type { Kysely } from "kysely";

// The declarative tools (schema's `declarativeServer`) a version was compiled with, besides its
// source files: with both, the version's inputs reproduce its bundle, and a later change of the
// declarative tools starts from the ones it has. Null for versions of code alone.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("server_versions").addColumn("declarative", "jsonb").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("server_versions").dropColumn("declarative").execute();
}
