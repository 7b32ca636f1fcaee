// The tools of Isola's MCP server that read and run servers (list_servers, get_server, deploy,
// roll_back, read_logs, read_usage, list_templates, deploy_template, and the build tools' refusals
// without a model), through the SDK client: each one's answer, and its refusals of bad input.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { openSession, quickDatabase, send } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";
import { connectIsola, dataOf, type IsolaClient, textOf } from "./isola-client.ts";

describe("Isola's MCP server: servers, logs, usage and templates", () => {
  let api: Api;
  let isola: IsolaClient;
  const slug = "tools-hello";

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    await deployHello(api.admin, slug);
    // A second version, not deployed.
    expect((await api.admin.post(`servers/${slug}/versions`, { source: HELLO_SOURCE })).status).toBe(201);
    isola = await connectIsola(api, api.adminToken);
  }, 120_000);
  afterAll(async () => {
    await isola?.close();
    await api?.close();
  });

  it("list_servers lists the caller's servers by page; another org's filter finds none", async () => {
    await api.admin.post("servers", { slug: "tools-draft", name: "draft", authMode: "public" });
    const all = dataOf(await isola.call("list_servers"));
    expect(all.items.map((server: { slug: string }) => server.slug)).toEqual(["tools-draft", slug]);
    expect(all.items[1]).toMatchObject({ status: "live", activeVersion: 1, mcpUrl: `${api.url}/${slug}/mcp` });
    const first = dataOf(await isola.call("list_servers", { limit: 1 }));
    expect(first.items).toHaveLength(1);
    const second = dataOf(await isola.call("list_servers", { limit: 1, cursor: first.next }));
    expect(second.items[0].slug).toBe(slug);
    expect(dataOf(await isola.call("list_servers", { org: "nobody-here" })).items).toEqual([]);
  });

  it("get_server reads a server and the tools it serves", async () => {
    const result = await isola.call("get_server", { server: slug });
    expect(dataOf(result)).toMatchObject({
      server: { slug, activeVersion: 1, authMode: "public" },
      tools: [{ name: "hello", description: "Greets someone by name" }],
    });
    expect(textOf(result)).toContain(`version 1 is live, at ${api.url}/${slug}/mcp`);
  });

  it.each([
    ["an unknown server", { server: "no-such-server" }, /Not found: no server called no-such-server/],
    ["a slug that is no slug", { server: "Not A Slug!" }, /Input validation error/],
    ["no slug at all", {}, /Input validation error/],
  ])("get_server refuses %s", async (_case, args, message) => {
    const result = await isola.call("get_server", args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it("deploy makes a version live, roll_back an earlier one; both show in the deployment history", async () => {
    expect(dataOf(await isola.call("deploy", { server: slug, version: 2 }))).toMatchObject({ activeVersion: 2 });
    expect(dataOf(await isola.call("roll_back", { server: slug, version: 1 }))).toMatchObject({ activeVersion: 1 });
    const history = (await api.admin.get(`servers/${slug}/deployments`)).body.items;
    expect(history.slice(0, 2).map((row: { kind: string; version: number }) => [row.kind, row.version])).toEqual([
      ["rollback", 1],
      ["deploy", 2],
    ]);
    expect(history[0].actor).toMatch(/owner@example.com \(token/);
  });

  it.each([
    ["deploy", { server: slug, version: 99 }, /tools-hello has no version 99/],
    ["deploy", { server: slug, version: 0 }, /Input validation error/],
    ["deploy", { server: slug, version: "2" }, /Input validation error/],
    [
      "roll_back",
      { server: slug, version: 2 },
      /Conflicts with the current state: roll back to a version before the live one/,
    ],
    ["roll_back", { server: "no-such-server", version: 1 }, /no server called no-such-server/],
  ])("%s refuses %j", async (tool, args, message) => {
    const before = (await api.admin.get(`servers/${slug}`)).body.activeVersion;
    const result = await isola.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect((await api.admin.get(`servers/${slug}`)).body.activeVersion).toBe(before);
  });

  it("read_logs reads the last lines, and the lines after one", async () => {
    const page = dataOf(await isola.call("read_logs", { server: slug }));
    const messages = page.items.map((line: { message: string }) => line.message);
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^version 1 is live \(rollback by /)]));
    const last = dataOf(await isola.call("read_logs", { server: slug, limit: 1 }));
    expect(last.items).toHaveLength(1);
    expect(last.lastId).toBe(page.lastId);
    const after = await isola.call("read_logs", { server: slug, after: page.lastId });
    expect(dataOf(after).items).toEqual([]);
    expect(textOf(after)).toContain("No log lines after");
    const bad = await isola.call("read_logs", { server: slug, after: "yesterday" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/a log line id/);
  });

  it("read_usage counts the calls the server served; a bad window is refused", async () => {
    const url = `${api.url}/${slug}/mcp`;
    const session = await openSession(url);
    for (const id of [1, 2]) {
      const called = await send(url, {
        body: { jsonrpc: "2.0", id, method: "tools/call", params: { name: "hello", arguments: { name: "usage" } } },
        headers: session.headers,
      });
      expect(called.status).toBe(200);
    }
    // The runtime flushes usage every few seconds.
    const usage = await eventually(async () => {
      const read = dataOf(await isola.call("read_usage", { server: slug, step: "1h" }));
      return read.totals.calls >= 2 ? read : undefined;
    }, 15_000);
    expect(usage.tools).toEqual([expect.objectContaining({ tool: "hello", calls: 2 })]);
    expect(usage.llm).toEqual({ calls: 0, inputTokens: 0, outputTokens: 0 });
    // ctx.llm's tokens of this server in the window; another server's (same org) are not its.
    const server = await api.stores.db
      .selectFrom("servers")
      .select(["id", "org_id"])
      .where("slug", "=", slug)
      .executeTakeFirstOrThrow();
    const llmRow = (serverId: string, calls: number) => ({
      org_id: server.org_id,
      server_id: serverId,
      minute: new Date(Math.floor(Date.now() / 60_000) * 60_000),
      calls,
      input_tokens: calls * 100,
      output_tokens: calls * 10,
    });
    await api.stores.db
      .insertInto("llm_usage")
      .values([llmRow(server.id, 2), llmRow(randomUUID(), 5)])
      .execute();
    const withLlm = await isola.call("read_usage", { server: slug, step: "1h" });
    expect(dataOf(withLlm).llm).toEqual({ calls: 2, inputTokens: 200, outputTokens: 20 });
    expect(textOf(withLlm)).toContain("2 ctx.llm completion(s), 200 input and 20 output token(s)");
    const bad = await isola.call("read_usage", { server: slug, step: "7 fortnights" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/Input validation error/);
  }, 30_000);

  it("list_templates lists the gallery", async () => {
    const listed = dataOf(await isola.call("list_templates"));
    expect(listed.items.map((item: { id: string }) => item.id)).toEqual(
      expect.arrayContaining(["faq", "weather", "github-issues", "notion-search", "rss", "http-json"]),
    );
  });

  it("deploy_template makes a live server from a template with its settings", async () => {
    const entries = [{ question: "Opening hours?", answer: "9 to 5" }];
    const result = await isola.call("deploy_template", {
      template: "faq",
      slug: "tools-faq",
      config: { title: "Shop FAQ", entries },
    });
    const deployed = dataOf(result);
    expect(deployed.server).toMatchObject({ slug: "tools-faq", status: "live", activeVersion: 1 });
    expect(textOf(result)).toContain(`tools-faq is live at ${api.url}/tools-faq/mcp`);
    expect((await api.admin.get("servers/tools-faq")).body.status).toBe("live");
  });

  it.each([
    ["an unknown template", { template: "no-such-template", slug: "tools-x" }, /no template called no-such-template/],
    [
      "a setting it does not have",
      { template: "faq", slug: "tools-y", config: { colour: "red" } },
      /has no setting colour/,
    ],
    ["a slug in use", { template: "faq", slug }, /a server called tools-hello exists/],
    [
      "secrets as arguments",
      { template: "notion-search", slug: "tools-z", secrets: { NOTION_TOKEN: "x" } },
      /Input validation error/,
    ],
  ])("deploy_template refuses %s, creating nothing", async (_case, args, message) => {
    const result = await isola.call("deploy_template", args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    for (const made of ["tools-x", "tools-y", "tools-z"]) {
      expect((await api.admin.get(`servers/${made}`)).status).toBe(404);
    }
  });

  it("deploy_template of a template with a required secret, by a client without URL-mode elicitation, says how to do it otherwise", async () => {
    const result = await isola.call("deploy_template", { template: "notion-search", slug: "tools-notion" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/cannot open a page for the user \(it did not declare URL-mode elicitation\)/);
    expect(textOf(result)).toContain(`${api.url}/dashboard`);
    expect(textOf(result)).toContain(`POST ${api.url}/api/v1/templates/notion-search/deploy`);
    expect((await api.admin.get("servers/tools-notion")).status).toBe(404);
  });

  it("without a model key, create_server_from_brief says how to set one; get_build refuses unknown builds", async () => {
    const brief = await isola.call("create_server_from_brief", { prompt: "A server that tells the time in any city" });
    expect(brief.isError).toBe(true);
    expect(textOf(brief)).toMatch(/No language model is configured: .*ANTHROPIC_API_KEY/);
    const tooShort = await isola.call("create_server_from_brief", { prompt: "time" });
    expect(textOf(tooShort)).toMatch(/Input validation error.*at least 10 characters/s);
    const unknown = await isola.call("get_build", { build: "00000000-0000-4000-8000-000000000000" });
    expect(textOf(unknown)).toMatch(/no build with that id/);
    const malformed = await isola.call("get_build", { build: "42" });
    expect(textOf(malformed)).toMatch(/Input validation error/);
  });
});
