// The tools of Isola's MCP server that change a server's life: iterate_server and cancel_build
// (builds queue here but never run: no worker role, so no model is called), pause_server,
// resume_server and delete_server (confirmed by the slug typed again). Each through the SDK
// client: its answer, what the REST API then shows, its refusals of bad input, and a viewer's
// (and for delete, a member's) refusal with nothing changed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminOrg, memberOf, tokenIn } from "../api/orgs-people.ts";
import { type Api, deployHello, startApi } from "../support/api-harness.ts";
import { initializeRequest, quickDatabase, send } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";
import { connectIsola, dataOf, type IsolaClient, textOf, tokenOf } from "./isola-client.ts";

const UNKNOWN_BUILD = "00000000-0000-4000-8000-000000000000";

describe("Isola's MCP server: iterate, cancel, pause, resume and delete", () => {
  let api: Api;
  let owner: IsolaClient;
  let viewer: IsolaClient;
  let member: IsolaClient;
  const slug = "life-hello";

  beforeAll(async () => {
    // A model key, so builds are accepted; without the worker role none runs, so they stay queued.
    api = await startApi(
      quickDatabase(),
      { ANTHROPIC_API_KEY: "sk-ant-test-key", ISOLA_ROLES: "runtime,control" },
      { listen: true },
    );
    await deployHello(api.admin, slug);
    expect((await api.admin.post("servers", { slug: "life-draft", name: "draft", authMode: "public" })).status).toBe(
      201,
    );
    const org = await adminOrg(api);
    owner = await connectIsola(api, api.adminToken);
    viewer = await connectIsola(api, tokenOf(await tokenIn(api, await memberOf(api, org, "viewer"), org)));
    member = await connectIsola(api, tokenOf(await tokenIn(api, await memberOf(api, org, "member"), org)));
  }, 120_000);
  afterAll(async () => {
    for (const client of [owner, viewer, member]) await client?.close();
    await api?.close();
  });

  /** The HTTP status of an initialize sent to a tenant server's MCP endpoint. */
  const serves = async (server: string) =>
    (await send(`${api.url}/${server}/mcp`, { body: initializeRequest() })).status;

  it("iterate_server queues a change to a live server, which keeps its live version; cancel_build stops it", async () => {
    const result = await owner.call("iterate_server", {
      server: slug,
      prompt: "Also greet people in French",
      autoDeploy: false,
    });
    const queued = dataOf(result);
    expect(queued).toMatchObject({ kind: "iterate", status: "queued", server: slug, autoDeploy: false });
    expect(textOf(result)).toContain(`Call get_build with build "${queued.id}"`);
    const rest = await api.admin.get(`builds/${queued.id}`);
    expect(rest.body).toMatchObject({ id: queued.id, kind: "iterate", prompt: "Also greet people in French" });
    expect((await api.admin.get(`servers/${slug}`)).body).toMatchObject({ status: "live", activeVersion: 1 });
    // autoDeploy defaults to true, as in the REST API.
    expect(
      dataOf(await owner.call("iterate_server", { server: slug, prompt: "Greet in Dutch as well" })),
    ).toMatchObject({ autoDeploy: true });

    const cancelled = await owner.call("cancel_build", { build: queued.id });
    expect(dataOf(cancelled)).toMatchObject({ id: queued.id, status: "cancelled" });
    expect(textOf(cancelled)).toContain("is cancelled");
    expect((await api.admin.get(`builds/${queued.id}`)).body.status).toBe("cancelled");
    const again = await owner.call("cancel_build", { build: queued.id });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/Conflicts with the current state: the build has already cancelled/);
  });

  it.each([
    ["an unknown server", { server: "no-such-server", prompt: "Add a tool that says bye" }, /no server called no-such/],
    ["a short prompt", { server: slug, prompt: "bye" }, /Input validation error.*at least 10 characters/s],
    ["no server", { prompt: "Add a tool that says bye" }, /Input validation error/],
    [
      "an argument it does not have",
      { server: slug, prompt: "Add a bye tool", authMode: "public" },
      /Input validation/,
    ],
  ])("iterate_server refuses %s, queuing nothing", async (_case, args, message) => {
    const before = await api.stores.db.selectFrom("builds").select("id").execute();
    const result = await owner.call("iterate_server", args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect(await api.stores.db.selectFrom("builds").select("id").execute()).toHaveLength(before.length);
  });

  it.each([
    ["an unknown build", { build: UNKNOWN_BUILD }, /Not found: no build with that id/],
    ["an id that is no id", { build: "42" }, /Input validation error/],
    ["no build", {}, /Input validation error/],
  ])("cancel_build refuses %s", async (_case, args, message) => {
    const result = await owner.call("cancel_build", args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it("pause_server stops a server serving (503) and resume_server brings it back, as the REST API does", async () => {
    const paused = await owner.call("pause_server", { server: slug });
    expect(dataOf(paused)).toMatchObject({ slug, status: "paused", activeVersion: 1 });
    expect(textOf(paused)).toContain("MCP calls get 503 until resume_server");
    expect((await api.admin.get(`servers/${slug}`)).body.status).toBe("paused");
    await eventually(async () => ((await serves(slug)) === 503 ? true : undefined), 10_000);

    const resumed = await owner.call("resume_server", { server: slug });
    expect(dataOf(resumed)).toMatchObject({ slug, status: "live", activeVersion: 1 });
    expect(textOf(resumed)).toContain(`serves again (version 1) at ${api.url}/${slug}/mcp`);
    await eventually(async () => ((await serves(slug)) === 200 ? true : undefined), 10_000);

    const log = (await api.admin.get(`servers/${slug}/logs`)).body.items.map(
      (line: { message: string }) => line.message,
    );
    expect(log).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^paused by owner@example.com/),
        expect.stringMatching(/^resumed by /),
      ]),
    );
  });

  it.each([
    [
      "pause_server",
      { server: "life-draft" },
      /Conflicts with the current state: a draft server serves nothing to pause/,
    ],
    ["resume_server", { server: "life-draft" }, /Conflicts with the current state: deploy a version before resuming/],
    ["pause_server", { server: "no-such-server" }, /Not found: no server called no-such-server/],
    ["resume_server", { server: "Not A Slug!" }, /Input validation error/],
    ["pause_server", { server: slug, really: true }, /Input validation error/],
  ])("%s refuses %j, changing nothing", async (tool, args, message) => {
    const before = (await api.admin.get("servers")).body.items;
    const result = await owner.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect((await api.admin.get("servers")).body.items).toEqual(before);
  });

  it("delete_server refuses a confirm that is not the slug, then deletes with it; the slug is free", async () => {
    await deployHello(api.admin, "life-doomed");
    for (const confirm of ["yes", "LIFE-DOOMED", " life-doomed", slug]) {
      const refused = await owner.call("delete_server", { server: "life-doomed", confirm });
      expect(refused.isError, confirm).toBe(true);
      expect(textOf(refused)).toMatch(/^Nothing was deleted: confirm .* is not the server's slug \("life-doomed"\)/);
      expect((await api.admin.get("servers/life-doomed")).status).toBe(200);
    }
    const missing = await owner.call("delete_server", { server: "life-doomed" });
    expect(textOf(missing)).toMatch(/Input validation error/);

    const deleted = await owner.call("delete_server", { server: "life-doomed", confirm: "life-doomed" });
    expect(dataOf(deleted)).toMatchObject({ slug: "life-doomed", deleted: true });
    expect(textOf(deleted)).toContain("life-doomed is deleted");
    expect((await api.admin.get("servers/life-doomed")).status).toBe(404);
    await eventually(async () => ((await serves("life-doomed")) === 404 ? true : undefined), 10_000);
    const audit = await api.stores.db
      .selectFrom("audit_log")
      .select("detail")
      .where("action", "=", "server.delete")
      .execute();
    expect(audit.map((row) => row.detail)).toEqual([{ slug: "life-doomed" }]);

    const twice = await owner.call("delete_server", { server: "life-doomed", confirm: "life-doomed" });
    expect(twice.isError).toBe(true);
    expect(textOf(twice)).toMatch(/Not found: no server called life-doomed/);
    expect((await api.admin.post("servers", { slug: "life-doomed", name: "Again", authMode: "public" })).status).toBe(
      201,
    );
  });

  it("a viewer may not iterate, cancel, pause, resume or delete: 403 in words, nothing changes", async () => {
    const build = dataOf(await owner.call("iterate_server", { server: slug, prompt: "Say goodbye as well" }));
    const cases: [string, Record<string, unknown>, string][] = [
      ["iterate_server", { server: slug, prompt: "Make it greet in Latin" }, "member"],
      ["cancel_build", { build: build.id }, "member"],
      ["pause_server", { server: slug }, "member"],
      ["resume_server", { server: slug }, "member"],
      ["delete_server", { server: slug, confirm: slug }, "admin"],
    ];
    const builds = (await api.stores.db.selectFrom("builds").select("id").execute()).length;
    const before = (await api.admin.get(`servers/${slug}`)).body;
    for (const [tool, args, role] of cases) {
      const result = await viewer.call(tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toContain(
        `Your role does not allow this: this needs the ${role} role or above; you are viewer (urn:isola:problem:forbidden)`,
      );
    }
    expect((await api.admin.get(`servers/${slug}`)).body).toEqual(before);
    expect((await api.admin.get(`builds/${build.id}`)).body.status).toBe("queued");
    expect((await api.stores.db.selectFrom("builds").select("id").execute()).length).toBe(builds);
  });

  it("a member pauses but may not delete (the admin role, as in the REST API)", async () => {
    expect(dataOf(await member.call("pause_server", { server: slug })).status).toBe("paused");
    expect(dataOf(await member.call("resume_server", { server: slug })).status).toBe("live");
    const result = await member.call("delete_server", { server: slug, confirm: slug });
    expect(textOf(result)).toMatch(/this needs the admin role or above; you are member/);
    expect((await api.admin.get(`servers/${slug}`)).status).toBe(200);
  });
});
