import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenDatabase, openDatabase } from "../src/stores/database.ts";
import { createTestDatabase } from "./support/postgres.ts";

// A PostgreSQL connection that dies while it is checked out of the pool (a transaction or a
// query in flight when Postgres restarts) must fail its queries, not crash the process: pg
// emits "error" on such a client, and an "error" event nobody listens to is thrown. Vitest
// fails the run on that uncaught error, so this test fails without the listener.

let database: { url: string; drop(): Promise<void> };
let open: OpenDatabase;
let admin: pg.Client;

beforeAll(async () => {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error("this test needs a PostgreSQL server: set DATABASE_URL (npm test starts one)");
  database = await createTestDatabase(adminUrl);
  open = await openDatabase({ databaseUrl: database.url, dataDir: "/nonexistent" });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

afterAll(async () => {
  await open?.close();
  await admin?.end();
  await database?.drop();
});

describe("a pooled PostgreSQL connection lost while in use", () => {
  it("fails the transaction on it with the reason, and the pool goes on with a new connection", async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", record);
    try {
      const transaction = open.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // Postgres ends this very connection while the transaction holds it.
        await admin.query("select pg_terminate_backend($1)", [rows[0]?.pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await sql`select 1`.execute(trx);
      });
      await expect(transaction).rejects.toThrow(/connection|terminat/i);
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(open.db);
      expect(rows).toEqual([{ one: 1 }]);
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", record);
    }
  });
});
