import { verifyApiKey } from "@isola/control";
import { SERVER_CHANGES } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api, Client } from "../support/api-harness.ts";
import { startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { eventually, sleep } from "../support/wait.ts";
import { memberOf, newOrg } from "./orgs-people.ts";

describe.each(databaseBackends())("API keys on $name", (backend) => {
  let api: Api;
  let org: string;
  let owner: Client;
  const announced: string[] = [];

  beforeAll(async () => {
    api = await startApi(backend);
    await api.stores.bus.subscribe(SERVER_CHANGES, (message) => void announced.push(message));
    const created = await newOrg(api, "keys-org");
    org = created.slug;
    owner = created.owner.session;
    for (const slug of ["keyed", "other-keyed"]) {
      const response = await owner.post("servers", { slug, name: slug, authMode: "api_key", org });
      expect(response.status).toBe(201);
    }
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("creates a key shown once, with its limits, and lists it without the value", async () => {
    const created = await owner.post("servers/keyed/keys", {
      name: "claude-desktop",
      expiresInDays: 30,
      rateLimitPerMinute: 120,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "claude-desktop",
      rateLimitPerMinute: 120,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(created.body.key).toMatch(/^isola_key_[A-Za-z0-9_-]{43}$/);
    expect(created.body.key.startsWith(created.body.prefix)).toBe(true);
    const days = (Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(30, 3);

    const plain = await owner.post("servers/keyed/keys", { name: "no-limits" });
    expect(plain.body).toMatchObject({ expiresAt: null, rateLimitPerMinute: null });

    const list = await owner.get("servers/keyed/keys");
    expect(list.status).toBe(200);
    const { key: _, ...withoutKey } = created.body;
    expect(list.body.items).toContainEqual(withoutKey);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect(list.body.items.every((item: object) => !("key" in item))).toBe(true);
  });

  it("never writes the key value to a log line, an audit row or the keys table", async () => {
    const { key, id } = (await owner.post("servers/keyed/keys", { name: "secretive" })).body;
    await owner.get("servers/keyed/keys");
    await owner.delete(`servers/keyed/keys/${id}`);
    expect(api.logs.join("\n")).not.toContain(key);
    const audit = await api.stores.db.selectFrom("audit_log").selectAll().execute();
    expect(JSON.stringify(audit)).not.toContain(key);
    expect(JSON.stringify(audit)).toContain("secretive");
    const stored = await api.stores.db
      .selectFrom("api_keys")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(key.slice(10));
  });

  it("verifies a key to its server and name, recording its use at most once a minute", async () => {
    const created = (await owner.post("servers/keyed/keys", { name: "verifier", rateLimitPerMinute: 7 })).body;
    const server = (await owner.get("servers/keyed")).body;
    const t0 = new Date();
    expect(await verifyApiKey(api.stores.db, created.key, t0)).toEqual({
      serverId: server.id,
      keyId: created.id,
      name: "verifier",
      rateLimitPerMinute: 7,
    });
    const lastUsed = async () =>
      (await owner.get("servers/keyed/keys")).body.items.find((k: { id: string }) => k.id === created.id).lastUsedAt;
    expect(await lastUsed()).toBe(t0.toISOString());
    await verifyApiKey(api.stores.db, created.key, new Date(t0.getTime() + 30_000));
    expect(await lastUsed()).toBe(t0.toISOString());
    const later = new Date(t0.getTime() + 61_000);
    await verifyApiKey(api.stores.db, created.key, later);
    expect(await lastUsed()).toBe(later.toISOString());
  });

  it.each([
    ["an unknown key", "isola_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["a personal access token", "isola_pat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["an empty string", ""],
  ])("refuses %s", async (_case, key) => {
    expect(await verifyApiKey(api.stores.db, key)).toBeNull();
  });

  it("refuses a revoked key, and an expired one once its expiry has passed", async () => {
    const revoked = (await owner.post("servers/keyed/keys", { name: "to-revoke" })).body;
    expect(await verifyApiKey(api.stores.db, revoked.key)).not.toBeNull();
    expect((await owner.delete(`servers/keyed/keys/${revoked.id}`)).status).toBe(204);
    expect(await verifyApiKey(api.stores.db, revoked.key)).toBeNull();
    const listed = (await owner.get("servers/keyed/keys")).body.items.find((k: { id: string }) => k.id === revoked.id);
    expect(listed.revokedAt).not.toBeNull();

    const expiring = (await owner.post("servers/keyed/keys", { name: "expiring", expiresInDays: 1 })).body;
    expect(await verifyApiKey(api.stores.db, expiring.key)).not.toBeNull();
    expect(await verifyApiKey(api.stores.db, expiring.key, new Date(Date.now() + 86_400_000 + 1000))).toBeNull();
  });

  it("keeps names unique among unrevoked keys, and frees a name when its key is revoked", async () => {
    const first = await owner.post("servers/keyed/keys", { name: "ci" });
    const again = await owner.post("servers/keyed/keys", { name: "ci" });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe("urn:isola:problem:conflict");
    // Another server's keys have their own names.
    expect((await owner.post("servers/other-keyed/keys", { name: "ci" })).status).toBe(201);
    await owner.delete(`servers/keyed/keys/${first.body.id}`);
    expect((await owner.post("servers/keyed/keys", { name: "ci" })).status).toBe(201);
  });

  it("gives one of two concurrent creates with the same name a 409", async () => {
    const results = await Promise.all([
      owner.post("servers/keyed/keys", { name: "racer" }),
      owner.post("servers/keyed/keys", { name: "racer" }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it("revokes only that server's keys: 404 for another server's key or an unknown id, 204 again for a revoked one", async () => {
    const other = (await owner.post("servers/other-keyed/keys", { name: "elsewhere" })).body;
    expect((await owner.delete(`servers/keyed/keys/${other.id}`)).status).toBe(404);
    expect(await verifyApiKey(api.stores.db, other.key)).not.toBeNull();
    expect((await owner.delete("servers/keyed/keys/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await owner.delete("servers/keyed/keys/not-a-uuid")).status).toBe(400);
    expect((await owner.delete(`servers/other-keyed/keys/${other.id}`)).status).toBe(204);
    expect((await owner.delete(`servers/other-keyed/keys/${other.id}`)).status).toBe(204);
  });

  it("announces key changes on the bus after they commit, and audits them by name", async () => {
    // Delivery is asynchronous: let earlier tests' messages arrive before listening for ours.
    await sleep(50);
    announced.length = 0;
    const server = (await owner.get("servers/keyed")).body;
    const created = (await owner.post("servers/keyed/keys", { name: "announced" })).body;
    await owner.delete(`servers/keyed/keys/${created.id}`);
    await eventually(() => (announced.length >= 2 ? true : undefined));
    expect(announced.map((m) => JSON.parse(m))).toEqual([
      { kind: "keys", serverId: server.id, slug: "keyed", activeVersionId: null },
      { kind: "keys", serverId: server.id, slug: "keyed", activeVersionId: null },
    ]);
    const audit = await owner.get(`orgs/${org}/audit?targetId=${created.id}`);
    expect(audit.body.items.map((e: { action: string; detail: unknown }) => [e.action, e.detail])).toEqual([
      ["key.revoke", { server: "keyed", name: "announced" }],
      ["key.create", { server: "keyed", name: "announced" }],
    ]);
  });

  it("creates once per Idempotency-Key, and keeps no copy of the key for the replay", async () => {
    const headers = { "idempotency-key": "key-create-1" };
    const first = await owner.post("servers/keyed/keys", { name: "idem" }, headers);
    expect(first.status).toBe(201);
    // A retry does not make a second key, and cannot get the first one back: it is shown once.
    const retry = await owner.post("servers/keyed/keys", { name: "idem" }, headers);
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ type: "urn:isola:problem:conflict", id: first.body.id });
    const stored = await api.stores.db.selectFrom("idempotency_keys").select("response").execute();
    expect(JSON.stringify(stored)).not.toContain(first.body.key);
  });

  it.each([
    ["an empty name", { name: " " }, /name/],
    ["a name over 100 characters", { name: "x".repeat(101) }, /name/],
    ["expiry of 0 days", { name: "a", expiresInDays: 0 }, /expiresInDays/],
    ["expiry over 10 years", { name: "a", expiresInDays: 3651 }, /expiresInDays/],
    ["a rate limit of 0", { name: "a", rateLimitPerMinute: 0 }, /rateLimitPerMinute/],
    ["a rate limit over 100000", { name: "a", rateLimitPerMinute: 100_001 }, /rateLimitPerMinute/],
    ["a fractional rate limit", { name: "a", rateLimitPerMinute: 1.5 }, /rateLimitPerMinute/],
    ["an unknown field", { name: "a", scopes: ["all"] }, /scopes/],
  ])("refuses %s with 400", async (_case, body, field) => {
    const response = await owner.post("servers/keyed/keys", body);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body.errors)).toMatch(field);
  });

  it.each([
    ["viewer", 403, 403, 403],
    ["member", 200, 201, 204],
    ["admin", 200, 201, 204],
  ] as const)("lets a %s list (%i), create (%i) and revoke (%i)", async (role, list, create, revoke) => {
    const someone = await memberOf(api, org, role);
    const victim = (await owner.post("servers/keyed/keys", { name: `victim-${role}` })).body;
    expect((await someone.session.get("servers/keyed/keys")).status).toBe(list);
    expect((await someone.session.post("servers/keyed/keys", { name: `by-${role}` })).status).toBe(create);
    expect((await someone.session.delete(`servers/keyed/keys/${victim.id}`)).status).toBe(revoke);
  });

  it("answers 404 to non-members and 401 to nobody", async () => {
    const outsider = await newOrg(api);
    const key = (await owner.post("servers/keyed/keys", { name: "guarded" })).body;
    for (const response of [
      await outsider.owner.session.get("servers/keyed/keys"),
      await outsider.owner.session.post("servers/keyed/keys", { name: "intruder" }),
      await outsider.owner.session.delete(`servers/keyed/keys/${key.id}`),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.type).toBe("urn:isola:problem:not-found");
    }
    expect((await api.anonymous.get("servers/keyed/keys")).status).toBe(401);
    expect(await verifyApiKey(api.stores.db, key.key)).not.toBeNull();
  });
});
