import { migrateToLatest, migrateToNothing, migrations } from "@isola/schema";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenDatabase } from "../src/stores/database.ts";
import { databaseBackends } from "./support/backends.ts";

/** The schema as Postgres describes it: columns, constraints and indexes of public tables. */
async function describeSchema(database: OpenDatabase): Promise<unknown> {
  const columns = await sql<Record<string, unknown>>`
    select table_name, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = 'public' and table_name not like 'kysely_%'
    order by table_name, column_name`.execute(database.db);
  const constraints = await sql<Record<string, unknown>>`
    select conrelid::regclass::text as table_name, conname, pg_get_constraintdef(oid) as definition
    from pg_constraint where connamespace = 'public'::regnamespace and conrelid::regclass::text not like 'kysely_%'
      -- Postgres 18 (PGlite) also lists NOT NULL here; 15 does not. is_nullable above covers it.
      and contype <> 'n'
    order by conname`.execute(database.db);
  const indexes = await sql<Record<string, unknown>>`
    select tablename, indexname, indexdef from pg_indexes
    where schemaname = 'public' and tablename not like 'kysely_%' order by indexname`.execute(database.db);
  return { columns: columns.rows, constraints: constraints.rows, indexes: indexes.rows };
}

const backends = databaseBackends();
const schemas = new Map<string, unknown>();

describe.each(backends)("migrations on $name", (backend) => {
  let database: OpenDatabase;
  beforeAll(async () => {
    database = await backend.open();
  });
  afterAll(async () => {
    await database.close();
  });

  it("brings an empty database to the latest schema, then has nothing left to do", async () => {
    expect(await migrateToLatest(database.db)).toEqual(Object.keys(migrations));
    expect(await migrateToLatest(database.db)).toEqual([]);
    schemas.set(backend.name, await describeSchema(database));
  });

  it("undoes every migration and applies them again to the same schema", async () => {
    const before = await describeSchema(database);
    expect(await migrateToNothing(database.db)).toEqual(Object.keys(migrations).reverse());
    expect(await describeSchema(database)).toEqual({ columns: [], constraints: [], indexes: [] });
    await migrateToLatest(database.db);
    expect(await describeSchema(database)).toEqual(before);
  });

  it("enforces the constraints the schema promises", async () => {
    const { db } = database;
    const user = await db
      .insertInto("users")
      .values({ email: "Ada@Example.com" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const org = await db
      .insertInto("orgs")
      .values({ slug: "acme", name: "Acme" })
      .returning("id")
      .executeTakeFirstOrThrow();
    // Emails are unique whatever their case.
    await expect(db.insertInto("users").values({ email: "ada@example.COM" }).execute()).rejects.toThrow(
      /users_email_key/,
    );
    await expect(db.insertInto("orgs").values({ slug: "acme", name: "Again" }).execute()).rejects.toThrow(/unique/);
    await expect(
      db
        .insertInto("memberships")
        .values({ org_id: org.id, user_id: user.id, role: "superuser" as "owner" })
        .execute(),
    ).rejects.toThrow(/check constraint/);
    await db.insertInto("memberships").values({ org_id: org.id, user_id: user.id, role: "owner" }).execute();
    // Deleting an org takes its memberships with it.
    await db.deleteFrom("orgs").where("id", "=", org.id).execute();
    expect(await db.selectFrom("memberships").selectAll().execute()).toEqual([]);
  });

  it("rolls a failed transaction back entirely", async () => {
    const { db } = database;
    await expect(
      db.transaction().execute(async (tx) => {
        await tx.insertInto("orgs").values({ slug: "half-written", name: "Half" }).execute();
        await tx.insertInto("orgs").values({ slug: "half-written", name: "Duplicate" }).execute();
      }),
    ).rejects.toThrow();
    expect(await db.selectFrom("orgs").where("slug", "=", "half-written").selectAll().execute()).toEqual([]);
  });

  it("keeps a concurrent query outside an open transaction", async () => {
    const { db } = database;
    let releaseTransaction = () => {};
    const held = new Promise<void>((resolve) => {
      releaseTransaction = resolve;
    });
    let inserted = () => {};
    const insertedSignal = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    const transaction = db.transaction().execute(async (tx) => {
      await tx.insertInto("orgs").values({ slug: "uncommitted", name: "U" }).execute();
      inserted();
      await held;
      throw new Error("roll back");
    });
    await insertedSignal;
    // On PGlite (one connection) this waits for the transaction; on Postgres it runs beside it.
    // Either way it must never see, or join, the uncommitted row.
    const outside = db.selectFrom("orgs").where("slug", "=", "uncommitted").selectAll().execute();
    setTimeout(releaseTransaction, 100);
    await expect(transaction).rejects.toThrow("roll back");
    expect(await outside).toEqual([]);
  });
});

if (backends.length > 1) {
  describe("one dialect, one set of migrations", () => {
    it("gives PGlite and PostgreSQL the same schema", () => {
      expect(schemas.get("pglite")).toBeDefined();
      expect(schemas.get("pglite")).toEqual(schemas.get("postgres"));
    });
  });
}
