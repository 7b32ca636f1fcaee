import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";

const EGRESS_SOURCE = `import { defineServer, tool, z } from "isola";
defineServer({ name: "w", egress: ["api.example.com", "*.weather.example"], tools: {
  t: tool({ description: "d", input: z.object({}), run: () => "x" }),
} });`;

describe.each(databaseBackends())("servers, versions and deploys on $name", (backend) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(backend);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("creates a draft server with its MCP URL, and refuses a taken slug", async () => {
    const created = await api.admin.post("servers", { slug: "first-one", name: "First", authMode: "api_key" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      slug: "first-one",
      status: "draft",
      activeVersion: null,
      mcpUrl: "https://isola.test/first-one/mcp",
    });
    const again = await api.admin.post("servers", { slug: "first-one", name: "Again", authMode: "public" });
    expect(again.status).toBe(409);
    expect(again.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({
      type: "urn:isola:problem:slug-taken",
      status: 409,
      instance: "/api/v1/servers",
    });
  });

  it.each([
    ["a reserved word", { slug: "api", name: "x", authMode: "public" }, /reserved/],
    ["an upper-case slug", { slug: "Hello", name: "x", authMode: "public" }, /lowercase/],
    ["a too-short slug", { slug: "ab", name: "x", authMode: "public" }, /3-40/],
    ["consecutive hyphens", { slug: "a--b", name: "x", authMode: "public" }, /consecutive/],
    ["an unknown auth mode", { slug: "okay-slug", name: "x", authMode: "magic" }, /authMode/],
    ["an unknown field", { slug: "okay-slug", name: "x", authMode: "public", color: "red" }, /color/],
    ["an empty name", { slug: "okay-slug", name: " ", authMode: "public" }, /name/],
  ])("refuses %s with 400 and says which field", async (_case, body, message) => {
    const response = await api.admin.post("servers", body);
    expect(response.status).toBe(400);
    expect(response.body.type).toBe("urn:isola:problem:invalid-request");
    expect(JSON.stringify(response.body.errors)).toMatch(message);
  });

  it("answers bad JSON and the wrong media type with problems, not crashes", async () => {
    const badJson = await api.admin.request("POST", "servers", "{not json", { "content-type": "application/json" });
    expect(badJson.status).toBe(400);
    expect(badJson.body.type).toBe("urn:isola:problem:invalid-request");
    const text = await api.admin.request("POST", "servers", "slug=x", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(text.body.type).toBe("urn:isola:problem:unsupported-media-type");
    const unknown = await api.admin.get("no-such-thing");
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe("urn:isola:problem:not-found");
  });

  it("stores a version only when it compiles, and lists the compiler's errors when not", async () => {
    await api.admin.post("servers", { slug: "compiles", name: "C", authMode: "public" });
    const bad = await api.admin.post("servers/compiles/versions", { source: 'const n: number = "x";\nexport {};' });
    expect(bad.status).toBe(422);
    expect(bad.body.type).toBe("urn:isola:problem:compile-failed");
    expect(bad.body.errors).toContainEqual(expect.objectContaining({ step: "types", file: "index.ts", line: 1 }));
    expect((await api.admin.get("servers/compiles/versions")).body.items).toEqual([]);

    const good = await api.admin.post("servers/compiles/versions", { source: HELLO_SOURCE });
    expect(good.status).toBe(201);
    expect(good.body).toMatchObject({
      number: 1,
      active: false,
      manifest: { name: "hello", tools: [{ name: "hello" }] },
    });
    const detail = await api.admin.get("servers/compiles/versions/1");
    expect(detail.body.source).toEqual({ "index.ts": HELLO_SOURCE });
  });

  it("stores declarative tools alone or with code, and shows them with the version", async () => {
    await api.admin.post("servers", { slug: "declared", name: "D", authMode: "public" });
    const faq = {
      name: "faq",
      tools: [{ kind: "static", name: "opening_hours", description: "When we are open", result: "9 to 5" }],
    };
    const alone = await api.admin.post("servers/declared/versions", { declarative: faq });
    expect(alone.status).toBe(201);
    expect(alone.body.manifest.tools.map((t: { name: string }) => t.name)).toEqual(["opening_hours"]);
    const mixed = await api.admin.post("servers/declared/versions", { source: HELLO_SOURCE, declarative: faq });
    expect(mixed.status).toBe(201);
    expect(mixed.body.manifest.tools.map((t: { name: string }) => t.name).sort()).toEqual(["hello", "opening_hours"]);
    const detail = await api.admin.get("servers/declared/versions/2");
    expect(detail.body).toMatchObject({ source: { "index.ts": HELLO_SOURCE }, declarative: faq });
    expect((await api.admin.get("servers/declared/versions/1")).body.source).toEqual({});
    // A code-only version has none.
    expect((await api.admin.get("servers/compiles/versions/1")).body.declarative).toBeNull();
  });

  it("numbers concurrent uploads without gaps or duplicates", async () => {
    await api.admin.post("servers", { slug: "uploads", name: "U", authMode: "public" });
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => api.admin.post("servers/uploads/versions", { source: HELLO_SOURCE })),
    );
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(responses.map((r) => r.body.number).sort()).toEqual([1, 2, 3, 4]);
  });

  it("deploys, keeps the history, and rolls back", async () => {
    await deployHello(api.admin, "deploys");
    await api.admin.post("servers/deploys/versions", { source: HELLO_SOURCE });
    expect((await api.admin.post("servers/deploys/deploy", { version: 2 })).body).toMatchObject({
      status: "live",
      activeVersion: 2,
    });
    const rolledBack = await api.admin.post("servers/deploys/rollback", { version: 1 });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.activeVersion).toBe(1);
    expect((await api.admin.post("servers/deploys/rollback", { version: 1 })).status).toBe(409);
    expect((await api.admin.post("servers/deploys/deploy", { version: 9 })).status).toBe(404);
    const history = await api.admin.get("servers/deploys/deployments");
    expect(
      history.body.items.map((d: { kind: string; version: number; previousVersion: number | null }) => [
        d.kind,
        d.version,
        d.previousVersion,
      ]),
    ).toEqual([
      ["rollback", 1, 2],
      ["deploy", 2, 1],
      ["deploy", 1, null],
    ]);
  });

  it("blocks a deploy until the owner approves the hosts the code declares", async () => {
    await api.admin.post("servers", { slug: "egress", name: "E", authMode: "public" });
    await api.admin.post("servers/egress/versions", { source: EGRESS_SOURCE });
    const blocked = await api.admin.post("servers/egress/deploy", { version: 1 });
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({
      type: "urn:isola:problem:egress-not-approved",
      hosts: ["api.example.com", "*.weather.example"],
    });
    const server = await api.admin.get("servers/egress");
    await api.admin.patch(
      "servers/egress",
      { egressApproved: ["api.example.com", "*.weather.example"] },
      { "if-match": String(server.headers.etag) },
    );
    expect((await api.admin.post("servers/egress/deploy", { version: 1 })).status).toBe(200);
  });

  it("lets two concurrent deploys each take effect in turn, the history matching the final state", async () => {
    await deployHello(api.admin, "racing");
    await api.admin.post("servers/racing/versions", { source: HELLO_SOURCE });
    await api.admin.post("servers/racing/versions", { source: HELLO_SOURCE });
    const results = await Promise.all([
      api.admin.post("servers/racing/deploy", { version: 2 }),
      api.admin.post("servers/racing/deploy", { version: 3 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const final = (await api.admin.get("servers/racing")).body.activeVersion;
    const history = (await api.admin.get("servers/racing/deployments")).body.items;
    expect(history).toHaveLength(3);
    // Newest first: the last to take effect is live, and each deploy's "previous" is the one before it.
    expect(history[0].version).toBe(final);
    expect(history[0].previousVersion).toBe(history[1].version);
    expect(history[1].previousVersion).toBe(history[2].version);
  });

  it("refuses an update without If-Match (428) or with a stale one (412), and applies a current one", async () => {
    await api.admin.post("servers", { slug: "edited", name: "Before", authMode: "public" });
    const read = await api.admin.get("servers/edited");
    const etag = String(read.headers.etag);
    expect((await api.admin.patch("servers/edited", { name: "No header" })).status).toBe(428);
    const first = await api.admin.patch("servers/edited", { name: "After" }, { "if-match": etag });
    expect(first.status).toBe(200);
    expect(first.body.name).toBe("After");
    const stale = await api.admin.patch("servers/edited", { name: "Lost update" }, { "if-match": etag });
    expect(stale.status).toBe(412);
    expect((await api.admin.get("servers/edited")).body.name).toBe("After");
  });

  it("creates once per Idempotency-Key, replays the answer, and refuses the key for another body", async () => {
    const headers = { "idempotency-key": "create-idem-1" };
    const body = { slug: "idempotent", name: "I", authMode: "public" };
    const first = await api.admin.post("servers", body, headers);
    const replay = await api.admin.post("servers", body, headers);
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers["idempotency-replayed"]).toBe("true");
    expect(replay.body.id).toBe(first.body.id);
    const other = await api.admin.post("servers", { ...body, slug: "idempotent-2" }, headers);
    expect(other.status).toBe(422);
    expect(other.body.type).toBe("urn:isola:problem:idempotency-key-reused");
  });

  it("pages through servers with a cursor", async () => {
    const { session } = await api.signup();
    for (const slug of ["page-a", "page-b", "page-c"])
      await session.post("servers", { slug, name: slug, authMode: "public" });
    const first = await session.get("servers?limit=2");
    expect(first.body.items.map((s: { slug: string }) => s.slug)).toEqual(["page-a", "page-b"]);
    const second = await session.get(`servers?limit=2&cursor=${first.body.next}`);
    expect(second.body.items.map((s: { slug: string }) => s.slug)).toEqual(["page-c"]);
    expect(second.body.next).toBeNull();
    expect((await session.get("servers?cursor=garbage")).status).toBe(400);
  });

  it("pauses and resumes a live server, and frees the slug on delete", async () => {
    await deployHello(api.admin, "lifecycle");
    expect((await api.admin.post("servers/lifecycle/pause")).body.status).toBe("paused");
    expect((await api.admin.post("servers/lifecycle/resume")).body.status).toBe("live");
    expect((await api.admin.delete("servers/lifecycle")).status).toBe(204);
    expect((await api.admin.get("servers/lifecycle")).status).toBe(404);
    expect((await api.admin.post("servers", { slug: "lifecycle", name: "Again", authMode: "public" })).status).toBe(
      201,
    );
  });
});
