import { randomBytes } from "node:crypto";
import { createSecretVault, type SecretVault, secretKeyOf } from "@isola/control";
import { SERVER_CHANGES } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, Client, deployHello, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";

const DECLARING_SOURCE = `import { defineServer, tool, z } from "isola";
defineServer({ name: "s", secrets: ["API_KEY", "WEBHOOK_SECRET"], tools: {
  t: tool({ description: "d", input: z.object({}), run: () => "x" }),
} });`;

describe.each(databaseBackends())("secrets on $name", (backend) => {
  let api: Api;
  let vault: SecretVault;
  let org: string;
  /** Every secret value sent in this suite, and a piece of each: the last test greps everything for them. */
  const values: string[] = [];
  const pieces: string[] = [];
  /** Every response received, serialised, and every bus message. */
  const seen: string[] = [];
  const secret = (label: string) => {
    const random = randomBytes(12).toString("hex");
    const value = `sk-live-${label}-${random}`;
    values.push(value);
    // 12 random hex digits: found only if some of the value leaked, even cut short.
    pieces.push(random.slice(0, 12));
    return value;
  };
  /** A client whose every response is kept for the leak check. */
  const recording = (client: Client) => {
    const copy = new Client(client.app, client.headers);
    const request = copy.request.bind(copy);
    copy.request = async (...args: Parameters<Client["request"]>) => {
      const response = await request(...args);
      seen.push(JSON.stringify({ headers: response.headers, body: response.body }));
      return response;
    };
    return copy;
  };
  let admin: Client;
  const serverId = async (slug: string) =>
    (await api.stores.db.selectFrom("servers").select("id").where("slug", "=", slug).executeTakeFirstOrThrow()).id;

  beforeAll(async () => {
    api = await startApi(backend);
    vault = createSecretVault({ db: api.stores.db, key: secretKeyOf(api.config.secretKey as Buffer) });
    admin = recording(api.admin);
    await api.stores.bus.subscribe(SERVER_CHANGES, (message) => void seen.push(message));
    await deployHello(admin, "vault");
    await admin.post("servers", { slug: "declares", name: "D", authMode: "public" });
    await admin.post("servers/declares/versions", { source: DECLARING_SOURCE });
    await admin.post("servers/declares/deploy", { version: 1 });
    org = (await admin.get("servers/vault")).body.org;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("sets, replaces, lists names only and deletes a secret", async () => {
    const first = await admin.put("servers/vault/secrets/API_KEY", { value: secret("first") });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ name: "API_KEY", updatedAt: expect.any(String), revision: 1 });
    expect(first.headers.etag).toBe('"r1"');

    const replacement = secret("replaced");
    const replaced = await admin.put("servers/vault/secrets/API_KEY", { value: replacement });
    expect(replaced.status).toBe(200);
    expect(Date.parse(replaced.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.updatedAt));
    expect(replaced.body.revision).toBe(2);
    expect((await vault.envFor(await serverId("vault"))).API_KEY).toBe(replacement);

    await admin.put("servers/vault/secrets/OTHER", { value: secret("other") });
    const list = await admin.get("servers/vault/secrets");
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [
        { name: "API_KEY", set: true, declared: false, updatedAt: replaced.body.updatedAt, revision: 2 },
        { name: "OTHER", set: true, declared: false, updatedAt: expect.any(String), revision: 1 },
      ],
    });

    expect((await admin.delete("servers/vault/secrets/OTHER")).status).toBe(204);
    const again = await admin.delete("servers/vault/secrets/OTHER");
    expect(again.status).toBe(404);
    expect(again.body.type).toBe("urn:isola:problem:not-found");
    expect((await admin.get("servers/vault/secrets")).body.items.map((s: { name: string }) => s.name)).toEqual([
      "API_KEY",
    ]);
  });

  it("lists what the active version declares, set or not", async () => {
    await admin.put("servers/declares/secrets/API_KEY", { value: secret("declared") });
    await admin.put("servers/declares/secrets/EXTRA", { value: secret("extra") });
    const list = await admin.get("servers/declares/secrets");
    expect(list.body.items).toEqual([
      { name: "API_KEY", set: true, declared: true, updatedAt: expect.any(String), revision: 1 },
      { name: "EXTRA", set: true, declared: false, updatedAt: expect.any(String), revision: 1 },
      { name: "WEBHOOK_SECRET", set: false, declared: true, updatedAt: null, revision: null },
    ]);
  });

  it("takes an optional If-Match: only the value at that revision is replaced, and nothing is created", async () => {
    const url = "servers/vault/secrets/CONDITIONAL";
    const set = await admin.put(url, { value: secret("conditional") });
    const ifMatch = { "if-match": String(set.headers.etag) };
    const kept = secret("kept");
    const replaced = await admin.put(url, { value: kept }, ifMatch);
    expect(replaced.status).toBe(200);
    expect(replaced.headers.etag).toBe('"r2"');
    const stale = await admin.put(url, { value: secret("stale") }, ifMatch);
    expect(stale.status).toBe(412);
    expect(stale.body.detail).toBe("the secret CONDITIONAL changed since revision 1; read it again");
    expect((await vault.envFor(await serverId("vault"))).CONDITIONAL).toBe(kept);

    // Two writers with the same ETag: one wins, the other learns it lost.
    const both = await Promise.all(
      ["one", "two"].map((label) =>
        admin.put(url, { value: secret(label) }, { "if-match": String(replaced.headers.etag) }),
      ),
    );
    expect(both.map((r) => r.status).sort()).toEqual([200, 412]);
    expect((await admin.get("servers/vault/secrets")).body.items).toContainEqual(
      expect.objectContaining({ name: "CONDITIONAL", revision: 3 }),
    );

    const absent = await admin.put(
      "servers/vault/secrets/NOT_YET",
      { value: secret("absent") },
      { "if-match": '"r1"' },
    );
    expect(absent.status).toBe(412);
    expect(absent.body.detail).toBe("vault has no secret NOT_YET to match If-Match; send no If-Match to create it");
    expect((await admin.get("servers/vault/secrets")).body.items.map((s: { name: string }) => s.name)).not.toContain(
      "NOT_YET",
    );
    // Without If-Match, the last write wins, as before.
    expect((await admin.put(url, { value: secret("blind") })).status).toBe(200);
    expect((await admin.delete(url)).status).toBe(204);
  });

  it("records names only in the audit log, in the same transaction, and announces the change", async () => {
    const messages: string[] = [];
    const unsubscribe = await api.stores.bus.subscribe(SERVER_CHANGES, (message) => void messages.push(message));
    await admin.put("servers/vault/secrets/AUDITED", { value: secret("audited") });
    await admin.delete("servers/vault/secrets/AUDITED");
    const rows = await api.stores.db
      .selectFrom("audit_log")
      .select(["action", "target_id", "detail", "actor_label"])
      .where("action", "like", "secret.%")
      .where("target_id", "=", await serverId("vault"))
      .orderBy("id")
      .execute();
    expect(rows.slice(-2)).toEqual([
      {
        action: "secret.set",
        target_id: await serverId("vault"),
        detail: { name: "AUDITED" },
        actor_label: expect.any(String),
      },
      {
        action: "secret.delete",
        target_id: await serverId("vault"),
        detail: { name: "AUDITED" },
        actor_label: expect.any(String),
      },
    ]);
    await expect.poll(() => messages.length).toBe(2);
    expect(JSON.parse(messages[0] as string)).toEqual({
      kind: "secrets",
      serverId: await serverId("vault"),
      slug: "vault",
      activeVersionId: expect.any(String),
    });
    await unsubscribe();
  });

  it("lets members write, refuses viewers (403) and hides the server from other orgs (404)", async () => {
    const viewer = await api.signup();
    const user = await api.stores.db
      .selectFrom("users")
      .select("id")
      .where("email", "=", viewer.email)
      .executeTakeFirstOrThrow();
    const orgRow = await api.stores.db
      .selectFrom("orgs")
      .select("id")
      .where("slug", "=", org)
      .executeTakeFirstOrThrow();
    await api.stores.db
      .insertInto("memberships")
      .values({ org_id: orgRow.id, user_id: user.id, role: "viewer" })
      .execute();
    const asViewer = recording(await api.tokenFor(viewer.session, org));
    const denied = await asViewer.put("servers/vault/secrets/API_KEY", { value: secret("viewer") });
    expect(denied.status).toBe(403);
    expect(denied.body.type).toBe("urn:isola:problem:forbidden");
    expect((await asViewer.get("servers/vault/secrets")).status).toBe(403);
    expect((await asViewer.delete("servers/vault/secrets/API_KEY")).status).toBe(403);

    const outsider = recording(await api.tokenFor((await api.signup()).session));
    for (const response of [
      await outsider.put("servers/vault/secrets/API_KEY", { value: secret("outsider") }),
      await outsider.get("servers/vault/secrets"),
      await outsider.delete("servers/vault/secrets/API_KEY"),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.type).toBe("urn:isola:problem:not-found");
    }
    const anonymous = recording(api.anonymous);
    expect((await anonymous.put("servers/vault/secrets/API_KEY", { value: secret("anonymous") })).status).toBe(401);
    expect((await vault.envFor(await serverId("vault"))).API_KEY).not.toMatch(/viewer|outsider|anonymous/);
  });

  it.each([
    ["lower case", "api_key"],
    ["a leading digit", "1_KEY"],
    ["a hyphen", "API-KEY"],
    ["65 characters", `A${"B".repeat(64)}`],
    ["nothing (empty)", ""],
  ])("refuses a name with %s (400)", async (_case, name) => {
    const response = await admin.put(`servers/vault/secrets/${name}`, { value: secret("bad-name") });
    expect(response.status).toBe(400);
    expect(response.body.type).toBe("urn:isola:problem:invalid-request");
    expect(response.body.errors).toEqual([expect.objectContaining({ in: "path", path: "name" })]);
  });

  it.each<[string, () => unknown, RegExp]>([
    ["a missing value", () => ({}), /value/],
    ["a number", () => ({ value: 42 }), /expected string/],
    ["null", () => ({ value: null }), /expected string/],
    ["an empty value", () => ({ value: "" }), /empty/],
    ["65537 bytes", () => ({ value: secret("long") + "x".repeat(65_537) }), /at most 65536 bytes/],
    ["65536 characters of 2-byte UTF-8", () => ({ value: secret("wide") + "é".repeat(32_768) }), /at most 65536 bytes/],
    ["a lone surrogate", () => ({ value: `${secret("surrogate")}\ud800` }), /Unicode/],
    ["an unknown field", () => ({ value: secret("field"), note: secret("note") }), /note/],
  ])("refuses a body with %s (400) without echoing it", async (_case, body, message) => {
    const sent = body();
    const response = await admin.put("servers/vault/secrets/BAD_BODY", sent);
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(response.body.type).toBe("urn:isola:problem:invalid-request");
    expect(JSON.stringify(response.body)).toMatch(message);
    expect(JSON.stringify(response.body)).not.toContain("sk-live");
  });

  it("refuses malformed JSON without quoting the body", async () => {
    const value = secret("malformed");
    const response = await admin.request("PUT", "servers/vault/secrets/BAD_BODY", `{"value": ${value}}`);
    expect(response.status).toBe(400);
    expect(response.body.type).toBe("urn:isola:problem:invalid-request");
    expect(response.body.detail).toMatch(/not valid JSON/);
    expect(JSON.stringify(response.body)).not.toContain(value);
  });

  it("accepts exactly 64 KiB", async () => {
    const value = secret("max");
    const padded = value + "x".repeat(65_536 - value.length);
    expect((await admin.put("servers/vault/secrets/BIG", { value: padded })).status).toBe(200);
    expect((await vault.envFor(await serverId("vault"))).BIG).toBe(padded);
    await admin.delete("servers/vault/secrets/BIG");
  });

  it("answers 404 for a server that does not exist", async () => {
    expect((await admin.put("servers/no-such-server/secrets/API_KEY", { value: secret("nowhere") })).status).toBe(404);
    expect((await admin.get("servers/no-such-server/secrets")).status).toBe(404);
  });

  it("holds at most 100 secrets per server, and still replaces one at the limit", async () => {
    await admin.post("servers", { slug: "crowded", name: "C", authMode: "public" });
    const id = await serverId("crowded");
    for (let i = 0; i < 100; i += 1) await vault.set(id, `KEY_${i}`, "filler");
    const refused = await admin.put("servers/crowded/secrets/ONE_MORE", { value: secret("crowded") });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/at most 100 secrets/);
    expect((await admin.put("servers/crowded/secrets/KEY_7", { value: secret("replace-at-limit") })).status).toBe(200);
  });

  it("documents the three operations in the OpenAPI document, with the permission each needs", async () => {
    const { paths } = (await admin.get("openapi.json")).body;
    expect(paths["/api/v1/servers/{slug}/secrets/{name}"].put).toMatchObject({
      operationId: "setSecret",
      "x-isola-access": { permission: "secrets:write" },
    });
    expect(paths["/api/v1/servers/{slug}/secrets/{name}"].delete.operationId).toBe("deleteSecret");
    expect(paths["/api/v1/servers/{slug}/secrets"].get["x-isola-access"]).toMatchObject({ permission: "secrets:read" });
  });

  it("hands the runtime exactly the server's secrets, decrypted (envFor)", async () => {
    await admin.post("servers", { slug: "runtime-env", name: "R", authMode: "public" });
    const expected = { DB_PASSWORD: secret("db"), TOKEN: secret("token"), UNICODE: `${secret("uni")} ключ 🔑` };
    for (const [name, value] of Object.entries(expected)) {
      expect((await admin.put(`servers/runtime-env/secrets/${name}`, { value })).status).toBe(200);
    }
    expect(await vault.envFor(await serverId("runtime-env"))).toEqual(expected);
    expect(await vault.envFor(await serverId("declares"))).toEqual({
      API_KEY: expect.stringContaining("sk-live-declared"),
      EXTRA: expect.stringContaining("sk-live-extra"),
    });
  });

  it("stores only ciphertext, and a ciphertext copied to another server's row does not decrypt", async () => {
    await admin.post("servers", { slug: "thief", name: "T", authMode: "public" });
    const rows = await api.stores.db.selectFrom("secrets").selectAll().execute();
    const stored = JSON.stringify(rows);
    for (const value of values) {
      expect(stored).not.toContain(value);
      expect(stored).not.toContain(Buffer.from(value).toString("base64").slice(0, 24));
    }
    expect(new Set(rows.map((row) => row.key_id))).toEqual(new Set([vault.keyId]));

    const victim = rows.find((row) => row.name === "TOKEN") as (typeof rows)[number];
    await api.stores.db
      .insertInto("secrets")
      .values({ ...victim, server_id: await serverId("thief"), created_at: undefined, updated_at: undefined })
      .execute();
    await expect(vault.envFor(await serverId("thief"))).rejects.toThrow(/TOKEN of server .* cannot be decrypted/);
  });

  it("never shows a value in any response, log line, bus message or audit entry", async () => {
    // Walk every secrets route again, and the routes that show a server, its versions and its history.
    await admin.put("servers/declares/secrets/WEBHOOK_SECRET", { value: secret("webhook") });
    for (const url of [
      "servers/declares/secrets",
      "servers/declares",
      "servers",
      "servers/declares/versions",
      "servers/declares/versions/1",
      "servers/declares/deployments",
      `orgs/${org}/audit`,
      "openapi.json",
    ]) {
      await admin.get(url);
    }
    await admin.delete("servers/declares/secrets/WEBHOOK_SECRET");
    await expect.poll(() => seen.filter((line) => line.includes('"kind":"secrets"')).length).toBeGreaterThan(5);

    const audit = JSON.stringify(await api.stores.db.selectFrom("audit_log").selectAll().execute());
    const logs = api.logs.join("\n");
    expect(values.length).toBeGreaterThan(20);
    expect(logs).toContain("servers/declares/secrets/WEBHOOK_SECRET");
    for (const piece of pieces) {
      expect(logs).not.toContain(piece);
      expect(audit).not.toContain(piece);
      for (const response of seen) expect(response).not.toContain(piece);
    }
    // Not vacuous: the values were stored and are readable through the runtime's path.
    expect(Object.values(await vault.envFor(await serverId("runtime-env")))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^sk-live-db-/)]),
    );
  });
});
