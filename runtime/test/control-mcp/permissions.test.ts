// The tools of Isola's MCP server act as the token's user with the REST API's own checks: a viewer
// reads but does not deploy, roll back, set secrets or add tools (403, nothing changes, nothing is
// asked of the user); another org's servers do not exist for them (404).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminOrg, memberOf, newOrg, tokenIn } from "../api/orgs-people.ts";
import { type Api, deployHello, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { connectIsola, dataOf, type IsolaClient, textOf, tokenOf } from "./isola-client.ts";

describe("Isola's MCP server: the same permissions as the REST API", () => {
  let api: Api;
  let viewer: IsolaClient;
  let member: IsolaClient;
  let outsider: IsolaClient;
  const slug = "perm-hello";

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    await deployHello(api.admin, slug);
    expect((await api.admin.post(`servers/${slug}/versions`, { source: HELLO_SOURCE })).status).toBe(201);
    const org = await adminOrg(api);
    const ask = () => ({ action: "accept" as const, content: { SOME_TOKEN: "should-never-be-asked" } });
    viewer = await connectIsola(api, tokenOf(await tokenIn(api, await memberOf(api, org, "viewer"), org)), {
      elicit: ask,
    });
    member = await connectIsola(api, tokenOf(await tokenIn(api, await memberOf(api, org, "member"), org)));
    const other = await newOrg(api);
    outsider = await connectIsola(api, tokenOf(await tokenIn(api, other.owner, other.slug)), { elicit: ask });
  }, 120_000);
  afterAll(async () => {
    for (const client of [viewer, member, outsider]) await client?.close();
    await api?.close();
  });

  it("a viewer reads servers, logs and usage", async () => {
    expect(dataOf(await viewer.call("list_servers")).items.map((s: { slug: string }) => s.slug)).toEqual([slug]);
    expect(dataOf(await viewer.call("get_server", { server: slug })).server.slug).toBe(slug);
    expect(dataOf(await viewer.call("read_logs", { server: slug })).items.length).toBeGreaterThan(0);
    expect(dataOf(await viewer.call("read_usage", { server: slug })).server).toBe(slug);
  });

  it.each([
    ["deploy", { server: slug, version: 2 }],
    ["roll_back", { server: slug, version: 1 }],
    ["set_secret", { server: slug, name: "SOME_TOKEN" }],
    ["add_declarative_tools", { server: slug, tools: [{ kind: "static", name: "x", description: "xx", result: 1 }] }],
    ["deploy_template", { template: "faq", slug: "perm-faq" }],
    ["create_server_from_brief", { prompt: "A server that tells jokes about cats" }],
  ])("a viewer may not %s: 403 in words, nothing changes, nothing asked", async (tool, args) => {
    const before = await api.admin.get(`servers/${slug}`);
    const versions = (await api.admin.get(`servers/${slug}/versions`)).body.items.length;
    const result = await viewer.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /Your role does not allow this: this needs the member role or above; you are viewer/,
    );
    expect(textOf(result)).toContain("urn:isola:problem:forbidden");
    expect(viewer.elicitations).toEqual([]);
    const after = await api.admin.get(`servers/${slug}`);
    expect(after.body.revision).toBe(before.body.revision);
    expect((await api.admin.get(`servers/${slug}/versions`)).body.items.length).toBe(versions);
    expect((await api.admin.get(`servers/${slug}/secrets`)).body.items).toEqual([]);
    expect((await api.admin.get("servers/perm-faq")).status).toBe(404);
  });

  it("a member deploys (the role the REST API asks for)", async () => {
    expect(dataOf(await member.call("deploy", { server: slug, version: 2 }))).toMatchObject({ activeVersion: 2 });
  });

  it.each([
    ["get_server", { server: slug }],
    ["deploy", { server: slug, version: 1 }],
    ["read_logs", { server: slug }],
    ["set_secret", { server: slug, name: "SOME_TOKEN" }],
  ])("another org's owner is told %s's server does not exist", async (tool, args) => {
    const result = await outsider.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Not found: no server called perm-hello/);
    expect(outsider.elicitations).toEqual([]);
  });

  it("another org's owner does not see the server in its list", async () => {
    expect(dataOf(await outsider.call("list_servers")).items).toEqual([]);
  });
});
