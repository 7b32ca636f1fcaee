import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Database } from "@isola/schema";
import { Kysely, PGliteDialect, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { lockDataDir } from "./data-dir-lock.ts";

export type Db = Kysely<Database>;

export interface OpenDatabase {
  db: Db;
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Set: PostgreSQL. Unset: embedded PGlite persisted under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Errors of idle pooled connections (e.g. Postgres restarting); they must not crash the process. */
  onPoolError?: (error: Error) => void;
}

/** Opens the configured database. It is not migrated here: see migrateToLatest. */
export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.onPoolError) : openPGlite(options.dataDir);
}

async function openPostgres(connectionString: string, onPoolError?: (error: Error) => void): Promise<OpenDatabase> {
  const pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  pool.on("error", (error) => onPoolError?.(error));
  // The pool listens for errors only on idle connections. A connection checked out (a query or a
  // transaction in flight) whose socket dies emits "error" too, after failing its queries: with no
  // listener that would crash the process when Postgres restarts under load. The queries already
  // carry the error to their callers, so this listener only has to exist.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    throw new Error(`cannot connect to PostgreSQL (DATABASE_URL): ${(error as Error).message}`, { cause: error });
  }
  return { db, kind: "postgres", close: () => db.destroy() };
}

async function openPGlite(dataDir: string): Promise<OpenDatabase> {
  const release = lockDataDir(dataDir);
  try {
    const pglite = await PGlite.create(join(dataDir, "pgdata"));
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    return {
      db,
      kind: "pglite",
      close: async () => {
        try {
          await db.destroy();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/** A cheap round trip, for readiness checks. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
