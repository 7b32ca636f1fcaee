// The authorization server's storage on each database: the adapter contract oidc-provider relies
// on (upsert, find, findByUid, findByUserCode, consume, destroy, revokeByGrantId), expiry, tokens
// stored only as hashes, and the sweeper.

import { hashId, KyselyAdapter, sweepExpired } from "@isola/control/oauth";
import { type Database, migrateToLatest } from "@isola/schema";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenDatabase } from "../../src/stores/database.ts";
import { databaseBackends } from "../support/backends.ts";

describe.each(databaseBackends())("the OAuth adapter on $name", (backend) => {
  let database: OpenDatabase;
  let db: Kysely<Database>;
  let clock = Date.parse("2030-01-01T00:00:00Z");
  const now = () => new Date(clock);
  const adapter = (model: string) => new KyselyAdapter(model, db, now);

  beforeAll(async () => {
    database = await backend.open();
    await migrateToLatest(database.db);
    db = database.db;
  });
  afterAll(async () => {
    await database?.close();
  });

  const rows = (model: string) =>
    db.selectFrom("oauth_models").selectAll().where("model", "=", model).orderBy("id").execute();

  it("stores a payload and finds it again, with its lookup columns", async () => {
    const sessions = adapter("Session");
    const payload = { jti: "session-1", uid: "uid-1", accountId: "acc-1", kind: "Session", loginTs: 1 };
    await sessions.upsert("session-1", payload, 60);
    expect(await sessions.find("session-1")).toEqual(payload);
    expect(await sessions.findByUid("uid-1")).toEqual(payload);
    expect(await sessions.find("session-2")).toBeUndefined();
    expect(await sessions.findByUid("uid-2")).toBeUndefined();
    // Another model with the same id is another row.
    expect(await adapter("Interaction").find("session-1")).toBeUndefined();
    const [row] = await rows("Session");
    expect(row).toMatchObject({ id: "session-1", uid: "uid-1", account_id: "acc-1", grant_id: null });
    expect(row?.expires_at?.getTime()).toBe(clock + 60_000);
  });

  it("replaces a payload on upsert, keeping one row", async () => {
    const interactions = adapter("Interaction");
    await interactions.upsert("int-1", { jti: "int-1", kind: "Interaction", returnTo: "a" }, 60);
    await interactions.upsert("int-1", { jti: "int-1", kind: "Interaction", returnTo: "b" }, 120);
    expect(await interactions.find("int-1")).toMatchObject({ returnTo: "b" });
    expect((await rows("Interaction")).filter((row) => row.id === "int-1")).toHaveLength(1);
  });

  it("finds by user code", async () => {
    const codes = adapter("DeviceCode");
    await codes.upsert("dc-1", { jti: "dc-1", kind: "DeviceCode", userCode: "ABCD-EFGH" }, 60);
    expect(await codes.findByUserCode("ABCD-EFGH")).toMatchObject({ jti: "dc-1" });
    expect(await codes.findByUserCode("ZZZZ-ZZZZ")).toBeUndefined();
  });

  it("stores tokens only as hashes: neither the id nor the jti is in the table", async () => {
    const refreshTokens = adapter("RefreshToken");
    const token = "rt-secret-value-0123456789";
    await refreshTokens.upsert(token, { jti: token, kind: "RefreshToken", grantId: "g-1", accountId: "acc-1" }, 3600);
    const dump = JSON.stringify(await rows("RefreshToken"));
    expect(dump).not.toContain(token);
    expect(dump).toContain(hashId(token));
    // Found by the token itself, with its jti given back.
    expect(await refreshTokens.find(token)).toMatchObject({ jti: token, grantId: "g-1" });
    expect(await refreshTokens.find(hashId(token))).toBeUndefined();
    await expect(refreshTokens.findByUid("anything")).rejects.toThrow(/stored hashed/);
  });

  it("marks a consumed token, and keeps it consumed when it is saved again", async () => {
    const codes = adapter("AuthorizationCode");
    await codes.upsert("code-1", { jti: "code-1", kind: "AuthorizationCode", grantId: "g-2" }, 60);
    expect(await codes.find("code-1")).not.toHaveProperty("consumed");
    await codes.consume("code-1");
    expect((await codes.find("code-1"))?.consumed).toBe(Math.floor(clock / 1000));
    await codes.upsert("code-1", { jti: "code-1", kind: "AuthorizationCode", grantId: "g-2" }, 60);
    expect((await codes.find("code-1"))?.consumed).toBe(Math.floor(clock / 1000));
  });

  it("does not find what has expired, and the sweeper deletes it", async () => {
    const grants = adapter("Grant");
    await grants.upsert("g-exp", { jti: "g-exp", kind: "Grant", accountId: "acc-1" }, 10);
    await adapter("Client").upsert("client-forever", { client_id: "client-forever" });
    expect(await grants.find("g-exp")).toBeDefined();
    clock += 11_000;
    expect(await grants.find("g-exp")).toBeUndefined();
    expect(await adapter("Client").find("client-forever")).toMatchObject({ client_id: "client-forever" });
    const swept = await sweepExpired(db, now());
    expect(swept).toBeGreaterThanOrEqual(1);
    expect((await rows("Grant")).map((row) => row.id)).not.toContain("g-exp");
    expect((await rows("Client")).map((row) => row.id)).toContain("client-forever");
  });

  it("destroys one row", async () => {
    const sessions = adapter("Session");
    await sessions.upsert("session-x", { jti: "session-x", uid: "uid-x", kind: "Session" }, 60);
    await sessions.destroy("session-x");
    expect(await sessions.find("session-x")).toBeUndefined();
    expect(await sessions.findByUid("uid-x")).toBeUndefined();
  });

  it("revokes by grant: the model's rows of that grant, not other grants' or other models'", async () => {
    const refreshTokens = adapter("RefreshToken");
    const codes = adapter("AuthorizationCode");
    await refreshTokens.upsert("rt-a1", { jti: "rt-a1", kind: "RefreshToken", grantId: "grant-a" }, 60);
    await refreshTokens.upsert("rt-a2", { jti: "rt-a2", kind: "RefreshToken", grantId: "grant-a" }, 60);
    await refreshTokens.upsert("rt-b", { jti: "rt-b", kind: "RefreshToken", grantId: "grant-b" }, 60);
    await codes.upsert("code-a", { jti: "code-a", kind: "AuthorizationCode", grantId: "grant-a" }, 60);
    await adapter("Grant").upsert("grant-a", { jti: "grant-a", kind: "Grant", accountId: "acc-1" }, 60);
    await refreshTokens.revokeByGrantId("grant-a");
    expect(await refreshTokens.find("rt-a1")).toBeUndefined();
    expect(await refreshTokens.find("rt-a2")).toBeUndefined();
    expect(await refreshTokens.find("rt-b")).toBeDefined();
    expect(await codes.find("code-a")).toBeDefined();
    // A grant's own row carries its id as grant_id: revoking it whole is one DELETE.
    expect((await rows("Grant")).find((row) => row.id === "grant-a")?.grant_id).toBe("grant-a");
  });

  it("refuses a payload Postgres cannot store (a NUL), as the client's error", async () => {
    const interactions = adapter("Interaction");
    await expect(
      interactions.upsert("int-nul", { jti: "int-nul", kind: "Interaction", params: { state: "a\u0000b" } }, 60),
    ).rejects.toMatchObject({ error: "invalid_request", status: 400 });
    expect(await interactions.find("int-nul")).toBeUndefined();
  });
});
