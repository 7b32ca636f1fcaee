import type { Kysely } from "kysely";
import { type Migration, type MigrationResultSet, Migrator, NO_MIGRATIONS } from "kysely/migration";
import * as accounts from "./migrations/0001_accounts.ts";
import * as controlPlane from "./migrations/0002_control_plane.ts";
import * as usage from "./migrations/0003_usage.ts";
import * as endpointSettings from "./migrations/0004_server_endpoint_settings.ts";
import * as updateRevisions from "./migrations/0005_update_revisions.ts";
import * as oauth from "./migrations/0006_oauth.ts";
import * as builds from "./migrations/0007_builds.ts";
import * as llmUsage from "./migrations/0008_llm_usage.ts";
import * as versionDeclarative from "./migrations/0009_version_declarative.ts";
import * as orgSecrets from "./migrations/0010_org_secrets.ts";
import * as passwordResets from "./migrations/0011_password_resets.ts";

/**
 * Every migration, in order. Names sort lexically, so they carry a 4-digit prefix.
 * Listed statically (not read from disk) so that the same list runs from source,
 * from a bundle and inside the image.
 */
export const migrations: Record<string, Migration> = {
  "0001_accounts": accounts,
  "0002_control_plane": controlPlane,
  "0003_usage": usage,
  "0004_server_endpoint_settings": endpointSettings,
  "0005_update_revisions": updateRevisions,
  "0006_oauth": oauth,
  "0007_builds": builds,
  "0008_llm_usage": llmUsage,
  "0009_version_declarative": versionDeclarative,
  "0010_org_secrets": orgSecrets,
  "0011_password_resets": passwordResets,
};

export class MigrationError extends Error {
  override name = "MigrationError";
}

// Migrations run against whatever Database a caller holds: they describe history, not today's types.
// biome-ignore lint/suspicious/noExplicitAny: Kysely's Migrator itself takes Kysely<any>.
type AnyDb = Kysely<any>;

function migrator(db: AnyDb): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/** The names of the migrations applied by this call (empty when already up to date). */
function applied(result: MigrationResultSet): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new MigrationError(`migration ${failed} failed: ${reason}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Brings the database to the latest schema. Safe to run from several nodes at once:
 * Kysely's migrator holds a row lock while it works.
 */
export async function migrateToLatest(db: AnyDb): Promise<string[]> {
  return applied(await migrator(db).migrateToLatest());
}

/**
 * The migrations this code knows that the database has not applied, in order; reads only (no
 * lock, no table created). Migrations the database has and this code does not (a newer release
 * migrated it) are not pending: an older node may run against a newer schema during a rolling deploy.
 */
export async function pendingMigrations(db: AnyDb): Promise<string[]> {
  const known = await migrator(db).getMigrations();
  return known.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}

/** Undoes every migration (for tests of the down paths). */
export async function migrateToNothing(db: AnyDb): Promise<string[]> {
  return applied(await migrator(db).migrateTo(NO_MIGRATIONS));
}
