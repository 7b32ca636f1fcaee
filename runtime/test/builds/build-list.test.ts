// GET /builds: the builds of the caller's orgs, newest first, paged without gaps or repeats even
// when builds share a creation time; filtered by org or server; nobody else's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";

describe.each(databaseBackends())("listing builds on $name", (backend) => {
  let api: Api;
  let adminOrg: string;
  const at = new Date("2026-11-01T12:00:00.123456Z");

  async function insertBuild(orgSlug: string, prompt: string, createdAt: Date | string, serverSlug?: string) {
    const db = api.stores.db;
    const org = await db.selectFrom("orgs").select("id").where("slug", "=", orgSlug).executeTakeFirstOrThrow();
    const server = serverSlug
      ? await db.selectFrom("servers").select("id").where("slug", "=", serverSlug).executeTakeFirstOrThrow()
      : undefined;
    const row = await db
      .insertInto("builds")
      .values({
        org_id: org.id,
        server_id: server?.id ?? null,
        kind: server ? "iterate" : "new",
        prompt,
        status: "queued",
        auth_mode: "public",
        auto_deploy: true,
        max_rounds: 3,
        created_at: createdAt,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  beforeAll(async () => {
    api = await startApi(backend);
    adminOrg = (await api.admin.get("me")).body.orgs[0].slug;
    await deployHello(api.admin, "listed-hello");
    // Five at the very same microsecond, one later, one for the server.
    for (let i = 0; i < 5; i++) await insertBuild(adminOrg, `same time ${i}`, at);
    await insertBuild(adminOrg, "later", new Date(at.getTime() + 60_000));
    await insertBuild(adminOrg, "for the server", new Date(at.getTime() + 120_000), "listed-hello");
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("pages newest first, without gaps or repeats across builds of the same instant", async () => {
    const seen: { id: string; prompt: string }[] = [];
    let cursor: string | null = null;
    do {
      const response: { status: number; body: { items: { id: string; prompt: string }[]; next: string | null } } =
        await api.admin.get(`builds?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(response.status).toBe(200);
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items);
      cursor = response.body.next;
    } while (cursor);
    expect(seen.map((build) => build.prompt).slice(0, 2)).toEqual(["for the server", "later"]);
    expect(seen).toHaveLength(7);
    expect(new Set(seen.map((build) => build.id)).size).toBe(7);
    expect(
      seen
        .slice(2)
        .map((build) => build.prompt)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4].map((i) => `same time ${i}`));
  });

  it("filters by org and by server, and shows each build's view", async () => {
    const forServer = await api.admin.get("builds?server=listed-hello");
    expect(forServer.body.items).toEqual([
      expect.objectContaining({ prompt: "for the server", server: "listed-hello", kind: "iterate", status: "queued" }),
    ]);
    expect((await api.admin.get(`builds?org=${adminOrg}&limit=200`)).body.items).toHaveLength(7);
    expect((await api.admin.get("builds?org=not-an-org")).body.items).toEqual([]);
  });

  it("shows nobody another org's builds", async () => {
    const other = await api.signup();
    await insertBuild(other.org, "someone else's", new Date());
    const theirs = await other.session.get("builds");
    expect(theirs.body.items.map((build: { prompt: string }) => build.prompt)).toEqual(["someone else's"]);
    const mine = await api.admin.get("builds?limit=200");
    expect(mine.body.items.map((build: { prompt: string }) => build.prompt)).not.toContain("someone else's");
  });

  it.each([
    ["a cursor it did not give out", "builds?cursor=bm90LWEtY3Vyc29y", 400],
    ["a limit out of range", "builds?limit=0", 400],
    ["a server that is no slug", "builds?server=NO", 400],
  ])("refuses %s", async (_, url, status) => {
    const response = await api.admin.get(url);
    expect(response.status).toBe(status);
    expect(response.body.type).toMatch(/^urn:isola:problem:/);
  });

  it("needs a signed-in caller", async () => {
    expect((await api.anonymous.get("builds")).status).toBe(401);
  });
});
