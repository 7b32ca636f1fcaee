// add_declarative_tools: tools described as data, compiled with the server's code and its earlier
// declarative tools into a new version (not deployed), their hosts approved on request; then
// deployed and called on the server's own MCP endpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, startApi } from "../support/api-harness.ts";
import { openSession, quickDatabase, send } from "../support/mcp.ts";
import { connectIsola, dataOf, type IsolaClient, textOf } from "./isola-client.ts";

const staticTool = (name: string, result: unknown) => ({
  kind: "static",
  name,
  description: `Answers ${name}`,
  result,
});

const httpTool = {
  kind: "http",
  name: "get_user",
  description: "Reads a user",
  params: { id: { type: "string", description: "The user's id" } },
  request: { url: "https://api.example.com/users/{id}" },
};

describe("Isola's MCP server: declarative tools", () => {
  let api: Api;
  let isola: IsolaClient;
  const slug = "decl-hello";

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    await deployHello(api.admin, slug);
    isola = await connectIsola(api, api.adminToken);
  }, 120_000);
  afterAll(async () => {
    await isola?.close();
    await api?.close();
  });

  /** tools/call on the server's own endpoint (public). */
  async function callOnServer(server: string, tool: string, args: Record<string, unknown> = {}) {
    const url = `${api.url}/${server}/mcp`;
    const session = await openSession(url);
    const answer = await send(url, {
      body: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: tool, arguments: args } },
      headers: session.headers,
    });
    return answer.json.result as { content: { text: string }[]; isError?: boolean };
  }

  const toolsOf = (version: { manifest: { tools: { name: string }[] } }) =>
    version.manifest.tools.map((tool) => tool.name).sort();

  it("adds tools beside the code as a new version, keeps earlier ones, replaces one of the same name", async () => {
    const first = await isola.call("add_declarative_tools", {
      server: slug,
      tools: [staticTool("opening_hours", { weekdays: "9-17" })],
    });
    const v2 = dataOf(first);
    expect(v2).toMatchObject({ number: 2, active: false, unapprovedEgress: [] });
    expect(toolsOf(v2)).toEqual(["hello", "opening_hours"]);
    expect(textOf(first)).toContain('deploy it with deploy {"server": "decl-hello", "version": 2}');
    // Not live until deployed.
    expect((await api.admin.get(`servers/${slug}`)).body.activeVersion).toBe(1);
    dataOf(await isola.call("deploy", { server: slug, version: 2 }));
    expect((await callOnServer(slug, "opening_hours")).content[0]?.text).toContain("9-17");
    expect((await callOnServer(slug, "hello", { name: "code" })).content[0]?.text).toBe("Hello, code!");

    const v3 = dataOf(
      await isola.call("add_declarative_tools", { server: slug, tools: [staticTool("address", "1 Main St")] }),
    );
    expect(toolsOf(v3)).toEqual(["address", "hello", "opening_hours"]);
    const v4 = dataOf(
      await isola.call("add_declarative_tools", {
        server: slug,
        tools: [staticTool("Opening_Hours", { weekdays: "8-20" })],
      }),
    );
    expect(toolsOf(v4)).toEqual(["Opening_Hours", "address", "hello"]);
    // From another version than the newest: the live one, without the address.
    const v5 = dataOf(
      await isola.call("add_declarative_tools", { server: slug, baseVersion: 2, tools: [staticTool("phone", "555")] }),
    );
    expect(toolsOf(v5)).toEqual(["hello", "opening_hours", "phone"]);
    const missing = await isola.call("add_declarative_tools", {
      server: slug,
      baseVersion: 42,
      tools: [staticTool("x", 1)],
    });
    expect(textOf(missing)).toMatch(/decl-hello has no version 42/);
    // The version keeps its declarative tools beside its source.
    const stored = await api.stores.db
      .selectFrom("server_versions as v")
      .innerJoin("servers as s", "s.id", "v.server_id")
      .select(["v.number", "v.declarative", "v.source"])
      .where("s.slug", "=", slug)
      .orderBy("v.number")
      .execute();
    expect(stored.map((row) => row.declarative?.tools.map((tool) => tool.name) ?? null)).toEqual([
      null,
      ["opening_hours"],
      ["opening_hours", "address"],
      ["address", "Opening_Hours"],
      ["opening_hours", "phone"],
    ]);
    expect(Object.keys(stored[3]?.source ?? {})).toEqual(["index.ts"]);
  });

  it("builds a server of declarative tools alone", async () => {
    await api.admin.post("servers", { slug: "decl-only", name: "Only data", authMode: "public" });
    const v1 = dataOf(
      await isola.call("add_declarative_tools", { server: "decl-only", tools: [staticTool("motto", "be kind")] }),
    );
    expect(toolsOf(v1)).toEqual(["motto"]);
    dataOf(await isola.call("deploy", { server: "decl-only", version: 1 }));
    expect((await callOnServer("decl-only", "motto")).content[0]?.text).toContain("be kind");
  });

  it("leaves a new host unapproved unless asked, so that the deploy is refused until it is", async () => {
    await api.admin.post("servers", { slug: "decl-http", name: "HTTP", authMode: "public" });
    const unapproved = dataOf(await isola.call("add_declarative_tools", { server: "decl-http", tools: [httpTool] }));
    expect(unapproved.unapprovedEgress).toEqual(["api.example.com"]);
    const refused = await isola.call("deploy", { server: "decl-http", version: unapproved.number });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/The code reaches hosts that are not approved.*\nhosts: api.example.com/);

    const approved = dataOf(
      await isola.call("add_declarative_tools", {
        server: "decl-http",
        tools: [httpTool],
        approvedEgress: ["api.example.com"],
      }),
    );
    expect(approved.unapprovedEgress).toEqual([]);
    expect((await api.admin.get("servers/decl-http")).body.egressApproved).toEqual(["api.example.com"]);
    expect(dataOf(await isola.call("deploy", { server: "decl-http", version: approved.number }))).toMatchObject({
      activeVersion: approved.number,
    });
  });

  it.each([
    [
      "an http tool to a plain-http URL",
      [{ ...httpTool, request: { url: "http://api.example.com/u/{id}" } }],
      /declarative: .*request\.url/,
    ],
    [
      "a placeholder that is no parameter",
      [{ ...httpTool, request: { url: "https://api.example.com/{nope}" } }],
      /\{nope\} is not a declared parameter/,
    ],
    ["a tool named like one of the code's", [staticTool("hello", "again")], /load/],
    ["a kind there is not", [{ kind: "shell", name: "x", description: "runs things" }], /Input validation error/],
    ["no tools", [], /Input validation error/],
  ])("refuses %s and stores nothing", async (_case, tools, message) => {
    const before = (await api.admin.get(`servers/${slug}/versions?limit=1`)).body.items[0].number;
    const result = await isola.call("add_declarative_tools", { server: slug, tools });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect((await api.admin.get(`servers/${slug}/versions?limit=1`)).body.items[0].number).toBe(before);
  });

  it("refuses to approve a host the tools do not reach", async () => {
    const result = await isola.call("add_declarative_tools", {
      server: slug,
      tools: [staticTool("quiet", "shh")],
      approvedEgress: ["evil.example.com"],
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /approve only hosts the new version reaches \(none\); not among them: evil.example.com/,
    );
    expect((await api.admin.get(`servers/${slug}`)).body.egressApproved).toEqual([]);
  });
});
