import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrations } from "@isola/schema";
import { sql } from "kysely";
import { type Migration, Migrator } from "kysely/migration";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/stores/database.ts";
import { behindMessage } from "../src/stores/open-stores.ts";
import { isola } from "./support/cli.ts";
import { spawnIsola } from "./support/isola-process.ts";
import { createTestDatabase } from "./support/postgres.ts";
import { eventually } from "./support/wait.ts";

// A fleet migrates once per deploy (`isola migrate` as the release command) and its nodes run
// with ISOLA_MIGRATE_ON_START=false: they check the schema and refuse to start behind it.

const ALL = Object.keys(migrations);

/** A database with exactly `names` applied (plus any extra migrations a newer release would have). */
async function migrateTo(
  target: { databaseUrl: string | undefined; dataDir: string },
  names: string[],
  extra: Record<string, Migration> = {},
): Promise<void> {
  const database = await openDatabase(target);
  try {
    const chosen = Object.fromEntries(names.map((name) => [name, migrations[name] as Migration]));
    const result = await new Migrator({
      db: database.db,
      provider: { getMigrations: async () => ({ ...chosen, ...extra }) },
    }).migrateToLatest();
    if (result.error) throw result.error;
  } finally {
    await database.close();
  }
}

async function appliedNames(target: { databaseUrl: string | undefined; dataDir: string }): Promise<string[]> {
  const database = await openDatabase(target);
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(database.db);
    return rows.rows.map((row) => row.name);
  } finally {
    await database.close();
  }
}

const fatalLine = (stdout: string) =>
  stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .find((line) => line.level === 60);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Target {
  databaseUrl: string | undefined;
  dataDir: string;
  env: Record<string, string>;
}

/** A new empty database of the given kind, removed after the test. */
async function freshTarget(kind: "pglite" | "postgres"): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), "isola-migrations-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  if (kind === "pglite") return { databaseUrl: undefined, dataDir, env: { ISOLA_DATA_DIR: dataDir } };
  const created = await createTestDatabase(process.env.DATABASE_URL ?? "");
  cleanups.push(() => created.drop());
  return {
    databaseUrl: created.url,
    dataDir,
    env: { ISOLA_DATA_DIR: dataDir, DATABASE_URL: created.url, ISOLA_SECRET_KEY: "ab".repeat(32) },
  };
}

/** The session advisory lock Kysely's PostgreSQL adapter takes around a migration run (kysely 0.29). */
const KYSELY_MIGRATION_LOCK = "3853314791062309107";

describe("isola migrate, three at once on a fresh PostgreSQL database", () => {
  it("all exit 0 and every migration is applied exactly once", async () => {
    const target = await freshTarget("postgres");
    // The test holds the migrator's lock until all three processes wait for it, so that they
    // really run at once (each has also raced to create Kysely's tables by then); then lets go.
    const holder = new pg.Client({ connectionString: target.databaseUrl });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`);
    const runs = Promise.all([1, 2, 3].map(() => isola(["migrate"], { env: target.env })));
    const waiting = async () =>
      Number(
        (
          await holder.query(
            "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event = 'advisory'",
          )
        ).rows[0]?.n,
      );
    await eventually(async () => ((await waiting()) === 3 ? true : undefined), 30_000);
    await holder.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`);

    const results = await runs;
    expect(results.map((run) => run.stderr)).toEqual(["", "", ""]);
    expect(results.map((run) => run.status)).toEqual([0, 0, 0]);
    // One process applies everything, the others find the database up to date: the names the
    // three report add up to each migration exactly once, as do the rows.
    const reported = results.flatMap((run) =>
      run.stdout === "database is up to date\n"
        ? []
        : (/^applied: (.+)\n$/.exec(run.stdout)?.[1]?.split(", ") ?? ["?"]),
    );
    expect(reported.sort()).toEqual(ALL);
    expect(results.filter((run) => run.stdout === "database is up to date\n")).toHaveLength(2);
    expect(await appliedNames(target)).toEqual(ALL);
  });
});

// PostgreSQL when there is one (a fleet's database, and faster to start), else the embedded one.
const kind = process.env.DATABASE_URL ? "postgres" : "pglite";

describe(`isola start with ISOLA_MIGRATE_ON_START=false (${kind})`, () => {
  // A node that serves little: the check happens before any role starts.
  const nodeEnv = { ISOLA_MIGRATE_ON_START: "false", ISOLA_ROLES: "runtime", ISOLA_SANDBOX_SHARDS: "1" };

  it("refuses to start behind the schema, naming the pending migrations and the command, and migrates nothing", async () => {
    const target = await freshTarget(kind);
    const done = ALL.slice(0, -2);
    await migrateTo(target, done);

    const run = await isola(["start"], { env: { ...target.env, ...nodeEnv, PORT: "0" } });
    expect(run.status).toBe(1);
    const fatal = fatalLine(run.stdout);
    expect(fatal?.msg).toBe(`cannot start: ${behindMessage(ALL.slice(-2))}`);
    expect(fatal?.msg).toContain(`2 migration(s) pending (${ALL.slice(-2).join(", ")})`);
    expect(fatal?.msg).toContain("isola migrate");
    expect(await appliedNames(target)).toEqual(done);
  });

  it("refuses an empty database too, naming every migration", async () => {
    const target = await freshTarget(kind);
    const run = await isola(["start"], { env: { ...target.env, ...nodeEnv, PORT: "0" } });
    expect(run.status).toBe(1);
    expect(fatalLine(run.stdout)?.msg).toBe(`cannot start: ${behindMessage(ALL)}`);
  });

  it("starts once `isola migrate` ran, without migrating, and on a schema a newer release migrated further", async () => {
    const target = await freshTarget(kind);
    // A newer release's release command ran: one migration this code does not know. An older node
    // restarting during the rolling deploy must still start.
    const future: Migration = { up: async (db) => void (await sql`select 1`.execute(db)) };
    await migrateTo(target, ALL, { "9999_from_a_newer_release": future });

    const node = await spawnIsola({ ...target.env, ...nodeEnv });
    const health = await fetch(`${node.url}/readyz`);
    expect(health.status).toBe(200);
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    const lines = node.lines.filter(Boolean).map((line) => JSON.parse(line) as { msg: string; applied?: unknown });
    expect(lines.find((line) => line.msg.startsWith("database "))).toMatchObject({
      msg: "database up to date (not migrated on start)",
      applied: [],
    });
  });

  it("with the default (true) migrates on start as before", async () => {
    const target = await freshTarget(kind);
    await migrateTo(target, ALL.slice(0, 3));
    const node = await spawnIsola({ ...target.env, ISOLA_ROLES: "runtime", ISOLA_SANDBOX_SHARDS: "1" });
    node.child.kill("SIGTERM");
    expect((await node.exited).code).toBe(0);
    expect(await appliedNames(target)).toEqual(ALL);
  });
});
