import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  createOrgSecrets,
  createSecretVault,
  keyFilePath,
  loadSecretKey,
  ORG_MODEL_KEY,
  rotateSecretKey,
  type SecretKey,
  secretKeyOf,
  writeKeyFile,
} from "@isola/control";
import { type Config, migrateToLatest, parseConfig } from "@isola/schema";
import type { Kysely } from "kysely";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runRotateSecretKey } from "../../src/cli/rotate-secret-key.ts";
import { openDatabase } from "../../src/stores/database.ts";
import { databaseBackends } from "../support/backends.ts";
import { createTestDatabase } from "../support/postgres.ts";

type Db = Kysely<import("@isola/schema").Database>;

const SECRETS = { API_KEY: "sk-live-alpha", PEM: `-----BEGIN-----\n${"k".repeat(3000)}`, UNICODE: "ключ 🔑" };

/** Two servers with the same secrets; returns their ids. */
async function seed(db: Db, key: SecretKey): Promise<string[]> {
  const org = await db
    .insertInto("orgs")
    .values({ slug: `org-${randomBytes(3).toString("hex")}`, name: "Org" })
    .returning("id")
    .executeTakeFirstOrThrow();
  const vault = createSecretVault({ db, key });
  const ids: string[] = [];
  for (const slug of ["rot-one", "rot-two"].map((prefix) => `${prefix}-${randomBytes(3).toString("hex")}`)) {
    const server = await db
      .insertInto("servers")
      .values({
        org_id: org.id,
        slug,
        name: slug,
        auth_mode: "public",
        access_policy: JSON.stringify({ kind: "org" }),
        egress_approved: "[]",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    for (const [name, value] of Object.entries(SECRETS)) await vault.set(server.id, name, value);
    ids.push(server.id);
  }
  return ids;
}

const snapshot = (db: Db) => db.selectFrom("secrets").selectAll().orderBy("server_id").orderBy("name").execute();

/** Reads every server's secrets with `key` (what the runtime does). */
const readAll = (db: Db, key: SecretKey, ids: string[]) =>
  Promise.all(ids.map((id) => createSecretVault({ db, key }).envFor(id)));

function io(args: string[], stdin = "") {
  const out: string[] = [];
  return {
    out,
    io: {
      args,
      stdin: Readable.from([stdin]),
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => out.push(text) },
    },
  };
}

describe.each(databaseBackends())("rotateSecretKey on $name", (backend) => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const database = await backend.open();
    await migrateToLatest(database.db);
    db = database.db;
    close = database.close;
  });
  afterAll(async () => close());
  // Each test starts with no secrets: a rotation covers every row of the table.
  beforeEach(async () => {
    await db.deleteFrom("secrets").execute();
  });

  it("re-encrypts every secret: readable with the new key, no longer with the old", async () => {
    const oldKey = secretKeyOf(randomBytes(32));
    const newKey = secretKeyOf(randomBytes(32));
    const ids = await seed(db, oldKey);
    const before = await snapshot(db);

    expect(await rotateSecretKey(db, oldKey, newKey)).toBe(6);
    expect(await readAll(db, newKey, ids)).toEqual([SECRETS, SECRETS]);
    await expect(readAll(db, oldKey, ids)).rejects.toThrow(`encrypted with key ${newKey.id}`);
    const after = await snapshot(db);
    expect(after.map((row) => row.key_id)).toEqual(after.map(() => newKey.id));
    // Fresh nonces, and updated-at still says when the value changed.
    after.forEach((row, i) => {
      expect(row.nonce).not.toBe(before[i]?.nonce);
      expect(row.updated_at).toEqual(before[i]?.updated_at);
    });
    // Run again (after an interruption): rows already under the new key stay as they are.
    expect(await rotateSecretKey(db, oldKey, newKey)).toBe(0);
  });

  it.each([
    ["a row written with a third key", { key_id: "0123456789abcdef" }, /encrypted with key 0123456789abcdef/],
    ["an altered row", { ciphertext: Buffer.alloc(40).toString("base64") }, /PEM of server .* cannot be decrypted/],
  ])("rolls everything back when one row cannot be decrypted (%s)", async (_case, damage, message) => {
    const oldKey = secretKeyOf(randomBytes(32));
    const newKey = secretKeyOf(randomBytes(32));
    const [first] = await seed(db, oldKey);
    await db
      .updateTable("secrets")
      .set(damage)
      .where("server_id", "=", first as string)
      .where("name", "=", "PEM")
      .execute();
    const before = await snapshot(db);
    await expect(rotateSecretKey(db, oldKey, newKey)).rejects.toThrow(message);
    // API_KEY of the first server sorts before PEM: it was re-encrypted in the transaction, then rolled back.
    expect(await snapshot(db)).toEqual(before);
  });

  it("moves the orgs' secrets (their model keys) with the servers'", async () => {
    const oldKey = secretKeyOf(randomBytes(32));
    const newKey = secretKeyOf(randomBytes(32));
    const org = await db
      .insertInto("orgs")
      .values({ slug: `rot-org-${randomBytes(3).toString("hex")}`, name: "Rotating", plan_id: null })
      .returning("id")
      .executeTakeFirstOrThrow();
    await createOrgSecrets({ db, key: oldKey }).set(org.id, ORG_MODEL_KEY, "sk-ant-org-key");
    expect(await rotateSecretKey(db, oldKey, newKey)).toBe(1);
    expect(await createOrgSecrets({ db, key: newKey }).get(org.id, ORG_MODEL_KEY)).toBe("sk-ant-org-key");
    await expect(createOrgSecrets({ db, key: oldKey }).get(org.id, ORG_MODEL_KEY)).rejects.toThrow(
      `the secret ${ORG_MODEL_KEY} of org ${org.id} was encrypted with key ${newKey.id}`,
    );
    await db.deleteFrom("org_secrets").execute();
  });

  it("refuses to rotate to the same key", async () => {
    const key = secretKeyOf(randomBytes(32));
    await expect(rotateSecretKey(db, key, key)).rejects.toThrow(/the new key is the current key/);
  });
});

describe("isola rotate-secret-key on the embedded default", () => {
  let dataDir: string;
  let config: Config;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "isola-rotate-"));
    const parsed = parseConfig({ ISOLA_DATA_DIR: dataDir });
    if (!parsed.ok) throw new Error(parsed.errors.join("; "));
    config = parsed.config;
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Seeds secrets with the key file the embedded default generates; returns that key and the server ids. */
  async function prepare(): Promise<{ oldKey: SecretKey; ids: string[] }> {
    const oldKey = loadSecretKey(config, { warn: () => {} });
    const database = await openDatabase({ databaseUrl: undefined, dataDir });
    try {
      await migrateToLatest(database.db);
      return { oldKey, ids: await seed(database.db, oldKey) };
    } finally {
      await database.close();
    }
  }

  async function withDb<T>(use: (db: Db) => Promise<T>): Promise<T> {
    const database = await openDatabase({ databaseUrl: undefined, dataDir });
    try {
      return await use(database.db);
    } finally {
      await database.close();
    }
  }

  it("generates a key, prints it once, re-encrypts, and replaces the key file (0600) after the commit", async () => {
    const { oldKey, ids } = await prepare();
    const run = io(["rotate-secret-key", "--generate"]);
    await runRotateSecretKey(config, run.io);

    const printed = /new key \(shown once; keep it\): (\S+)/.exec(run.out.join(""))?.[1] as string;
    const path = keyFilePath(dataDir);
    expect(readFileSync(path).toString("base64")).toBe(printed);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}.new`)).toBe(false);
    const newKey = secretKeyOf(readFileSync(path));
    expect(run.out.join("")).toContain(`re-encrypted 6 secret(s) from key ${oldKey.id} to key ${newKey.id}`);
    await withDb(async (db) => {
      expect(await readAll(db, loadSecretKey(config, { warn: () => {} }), ids)).toEqual([SECRETS, SECRETS]);
      await expect(readAll(db, oldKey, ids)).rejects.toThrow(`this node's key is ${oldKey.id}`);
    });
  });

  it("takes the new key from stdin (hex), and leaves key file and rows untouched when a row does not decrypt", async () => {
    const { oldKey, ids } = await prepare();
    await withDb((db) =>
      db
        .updateTable("secrets")
        .set({ key_id: "fedcba9876543210" })
        .where("server_id", "=", ids[1] as string)
        .where("name", "=", "UNICODE")
        .execute(),
    );
    const before = await withDb(snapshot);
    const run = io([], randomBytes(32).toString("hex"));
    await expect(runRotateSecretKey(config, run.io)).rejects.toThrow(/encrypted with key fedcba9876543210/);
    expect(readFileSync(keyFilePath(dataDir))).toEqual(oldKey.bytes);
    expect(existsSync(`${keyFilePath(dataDir)}.new`)).toBe(false);
    expect(await withDb(snapshot)).toEqual(before);
  });

  it.each([
    ["nothing", ""],
    ["a short key", randomBytes(16).toString("base64")],
    ["a password", "sk-live-not-a-key"],
  ])("refuses %s on stdin without echoing it", async (_case, input) => {
    const run = io([], input);
    const error = await runRotateSecretKey(config, run.io).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/send the new key on stdin/);
    if (input) expect((error as Error).message).not.toContain(input);
  });

  it("refuses to start over an interrupted rotation, naming the key it left behind", async () => {
    await prepare();
    const pending = secretKeyOf(randomBytes(32));
    writeKeyFile(`${keyFilePath(dataDir)}.new`, pending.bytes);
    await expect(runRotateSecretKey(config, io(["--generate"]).io)).rejects.toThrow(
      new RegExp(`secret.key.new exists \\(key ${pending.id}\\): an earlier rotation stopped`),
    );
  });
});

describe.runIf(process.env.DATABASE_URL)("isola rotate-secret-key on a fleet (PostgreSQL)", () => {
  it("re-encrypts with the key from stdin and tells the operator to set ISOLA_SECRET_KEY on every node", async () => {
    const created = await createTestDatabase(process.env.DATABASE_URL as string);
    try {
      const oldKey = secretKeyOf(randomBytes(32));
      const parsed = parseConfig({ DATABASE_URL: created.url, ISOLA_SECRET_KEY: oldKey.bytes.toString("base64") });
      if (!parsed.ok) throw new Error(parsed.errors.join("; "));
      const database = await openDatabase({ databaseUrl: created.url, dataDir: "/nonexistent" });
      try {
        await migrateToLatest(database.db);
        const ids = await seed(database.db, oldKey);
        const newBytes = randomBytes(32);
        const run = io(["rotate-secret-key"], `${newBytes.toString("base64")}\n`);
        await runRotateSecretKey(parsed.config, run.io);
        const newKey = secretKeyOf(newBytes);
        expect(run.out).toEqual([
          `re-encrypted 6 secret(s) from key ${oldKey.id} to key ${newKey.id}\n`,
          `now set ISOLA_SECRET_KEY to the new key (id ${newKey.id}) on every node and restart them; until then they cannot read secrets\n`,
        ]);
        expect(await readAll(database.db, newKey, ids)).toEqual([SECRETS, SECRETS]);
      } finally {
        await database.close();
      }
    } finally {
      await created.drop();
    }
  });
});
