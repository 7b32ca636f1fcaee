// The gallery through the REST API: list, read, and deploy a template in one call (a live server
// with its secrets stored encrypted, its egress approved, version 1 compiled and deployed), then
// the new server answering tools/call to the official MCP SDK client; and the refusals of a
// deploy, each leaving the database as it was.
import { readFileSync } from "node:fs";
import { createSecretVault, secretKeyOf } from "@isola/control";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changedTables, snapshot } from "../api/db-snapshot.ts";
import { memberOf } from "../api/orgs-people.ts";
import { type Api, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";

let api: Api;
let org: string;
beforeAll(async () => {
  api = await startApi(quickDatabase(), {}, { listen: true });
  org = (await api.admin.get("me")).body.orgs[0].slug;
}, 120_000);
afterAll(async () => {
  await api?.close();
});

const ENTRIES = [
  { id: "hours", question: "When are you open?", answer: "Monday to Friday, 9:00 to 17:00 CET.", tags: ["contact"] },
  {
    id: "returns",
    question: "How do I return an item?",
    answer: "Print the label from your order page within 30 days.",
  },
];

describe("GET /templates", () => {
  it("lists the six templates with what each needs", async () => {
    const response = await api.admin.get("templates");
    expect(response.status).toBe(200);
    expect(response.body.items.map((item: { id: string }) => item.id)).toEqual([
      "faq",
      "github-issues",
      "http-json",
      "notion-search",
      "rss",
      "weather",
    ]);
    const notion = response.body.items.find((item: { id: string }) => item.id === "notion-search");
    expect(notion).toMatchObject({
      egress: ["api.notion.com"],
      authMode: "oauth",
      secrets: [{ name: "NOTION_TOKEN", required: true, howToGet: expect.stringContaining("integrations") }],
      settings: [expect.objectContaining({ name: "apiUrl", default: "https://api.notion.com" }), expect.anything()],
    });
  });

  it("needs a signed-in caller", async () => {
    expect((await api.anonymous.get("templates")).status).toBe(401);
  });
});

describe("GET /templates/{template}", () => {
  it("gives the source a deploy compiles: the folder's files and config.ts with the defaults", async () => {
    const response = await api.admin.get("templates/rss");
    expect(response.status).toBe(200);
    expect(Object.keys(response.body.files).sort()).toEqual(["config.ts", "feed.ts", "index.ts", "xml.ts"]);
    const onDisk = readFileSync(new URL("../../../templates/rss/index.ts", import.meta.url), "utf8");
    expect(response.body.files["index.ts"]).toBe(onDisk);
    expect(response.body.files["config.ts"]).toContain('"url": "https://hnrss.org/frontpage"');
  });

  it("answers 404 for a template that does not exist, 400 for a name that cannot be one", async () => {
    const missing = await api.admin.get("templates/jira");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      type: "urn:isola:problem:not-found",
      detail: expect.stringContaining("jira"),
    });
    expect((await api.admin.get("templates/Not_A_Template")).status).toBe(400);
  });
});

describe("POST /templates/{template}/deploy", () => {
  it("makes a live server from the faq template and its settings, which answers the MCP SDK client", async () => {
    const response = await api.admin.post("templates/faq/deploy", {
      slug: "shop-faq",
      name: "Shop FAQ",
      config: { title: "Shop FAQ", entries: ENTRIES },
    });
    expect(response.status).toBe(201);
    expect(response.body.server).toMatchObject({
      slug: "shop-faq",
      name: "Shop FAQ",
      org,
      authMode: "public",
      status: "live",
      activeVersion: 1,
      egressApproved: [],
      mcpUrl: `${api.url}/shop-faq/mcp`,
    });
    expect(response.body.version).toMatchObject({ number: 1, active: true, createdBy: "owner@example.com" });
    expect(response.body.version.manifest.tools.map((tool: { name: string }) => tool.name)).toEqual([
      "search_faq",
      "get_entry",
      "list_questions",
    ]);

    const client = new Client({ name: "template-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(response.body.server.mcpUrl)));
    try {
      const found = await client.callTool({ name: "search_faq", arguments: { query: "return an item" } });
      expect(found.isError).toBeFalsy();
      expect(found.structuredContent).toMatchObject({ matches: [{ id: "returns", answer: ENTRIES[1]?.answer }] });
      const resources = await client.listResources();
      expect(resources.resources.map((resource) => resource.uri)).toEqual([
        "faq://entries/hours",
        "faq://entries/returns",
      ]);
      const read = await client.readResource({ uri: "faq://entries/hours" });
      expect(read.contents[0]).toMatchObject({ text: expect.stringContaining("Monday to Friday") });
    } finally {
      await client.close();
    }
  });

  it("stores the secrets encrypted and approves the egress the code declares", async () => {
    const token = "github_pat_11AAAAAAA0secretvalue";
    const response = await api.admin.post("templates/github-issues/deploy", {
      slug: "gh-search",
      secrets: { GITHUB_TOKEN: token },
    });
    expect(response.status).toBe(201);
    expect(JSON.stringify(response.body)).not.toContain(token);
    expect(response.body.server).toMatchObject({
      name: "GitHub issues search",
      authMode: "oauth",
      egressApproved: ["api.github.com"],
    });

    const secrets = await api.admin.get("servers/gh-search/secrets");
    expect(secrets.body.items).toEqual([expect.objectContaining({ name: "GITHUB_TOKEN", set: true, declared: true })]);
    const db = api.stores.db;
    const server = await db
      .selectFrom("servers")
      .select("id")
      .where("slug", "=", "gh-search")
      .executeTakeFirstOrThrow();
    const row = await db.selectFrom("secrets").selectAll().where("server_id", "=", server.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(token);
    const vault = createSecretVault({ db, key: secretKeyOf(api.config.secretKey as Buffer) });
    expect(await vault.envFor(server.id)).toEqual({ GITHUB_TOKEN: token });

    const deployments = await api.admin.get("servers/gh-search/deployments");
    expect(deployments.body.items).toEqual([expect.objectContaining({ version: 1, kind: "deploy" })]);
    const audit = await api.admin.get(`orgs/${org}/audit?targetId=${server.id}`);
    expect(audit.body.items.map((entry: { action: string }) => entry.action).sort()).toEqual([
      "secret.set",
      "server.create",
      "server.deploy",
      "template.deploy",
      "version.create",
    ]);
    expect(JSON.stringify(audit.body)).not.toContain(token);
    expect(api.logs.join("\n")).not.toContain(token);
  });

  it("takes the auth mode and settings the caller names", async () => {
    const response = await api.admin.post("templates/rss/deploy", {
      slug: "my-feeds",
      authMode: "api_key",
      config: { feeds: [{ name: "lwn", url: "https://lwn.net/headlines/rss" }] },
    });
    expect(response.status).toBe(201);
    expect(response.body.server).toMatchObject({ authMode: "api_key", egressApproved: ["lwn.net"] });
    const version = await api.admin.get("servers/my-feeds/versions/1");
    expect(version.body.source["config.ts"]).toContain("https://lwn.net/headlines/rss");
  });
});

describe("a deploy that is refused writes nothing", () => {
  const rows: [string, string, Record<string, unknown>, number, string, RegExp][] = [
    ["an unknown template", "jira", { slug: "refused-1" }, 404, "not-found", /no template called jira/],
    [
      "a missing required secret",
      "notion-search",
      { slug: "refused-2" },
      400,
      "invalid-request",
      /the secret NOTION_TOKEN is required .*to get one: Open https:\/\/www\.notion\.so\/profile\/integrations/,
    ],
    [
      "a secret the template does not read",
      "weather",
      { slug: "refused-3", secrets: { OPENWEATHER_KEY: "x" } },
      400,
      "invalid-request",
      /the weather template reads no secret OPENWEATHER_KEY \(it reads: none\)/,
    ],
    [
      "a setting the template does not have",
      "weather",
      { slug: "refused-4", config: { units: "imperial" } },
      400,
      "invalid-request",
      /the weather template has no setting units \(its settings: forecastUrl, geocodingUrl\)/,
    ],
    ["a taken slug", "faq", { slug: "shop-faq" }, 409, "slug-taken", /a server called shop-faq exists/],
    ["a reserved slug", "faq", { slug: "templates" }, 400, "invalid-request", /reserved/],
    [
      "settings the code refuses",
      "rss",
      { slug: "refused-5", config: { feeds: [] } },
      422,
      "compile-failed",
      /1 problem\(s\) in the rss template with these settings; nothing was stored/,
    ],
  ];
  it.each(rows)("%s", async (_name, id, body, status, code, detail) => {
    const before = await snapshot(api.stores.db);
    const response = await api.admin.post(`templates/${id}/deploy`, body);
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ type: `urn:isola:problem:${code}`, detail: expect.stringMatching(detail) });
    expect(changedTables(before, await snapshot(api.stores.db))).toEqual([]);
  });

  it("lists each field that does not fit the template", async () => {
    const response = await api.admin.post("templates/notion-search/deploy", {
      slug: "refused-6",
      secrets: { GITHUB_TOKEN: "x" },
    });
    expect(response.body.errors).toEqual([
      expect.objectContaining({ in: "body", path: "secrets.NOTION_TOKEN" }),
      expect.objectContaining({ in: "body", path: "secrets.GITHUB_TOKEN" }),
    ]);
  });

  it("a viewer may not deploy (403), and a plan's server limit holds (403 plan-limit)", async () => {
    const viewer = await memberOf(api, org, "viewer");
    const before = await snapshot(api.stores.db);
    const refused = await viewer.session.post("templates/faq/deploy", { slug: "viewer-faq" });
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe("urn:isola:problem:forbidden");
    expect(changedTables(before, await snapshot(api.stores.db))).toEqual([]);

    const db = api.stores.db;
    await db
      .insertInto("plans")
      .values({ id: "tiny", name: "Tiny", max_servers: 1, calls_per_month: 1, memory_mb: 64, rate_limit_per_minute: 1 })
      .execute();
    const { id: orgId } = await db.selectFrom("orgs").select("id").where("slug", "=", org).executeTakeFirstOrThrow();
    const { plan_id: plan } = await db
      .selectFrom("orgs")
      .select("plan_id")
      .where("id", "=", orgId)
      .executeTakeFirstOrThrow();
    await db.updateTable("orgs").set({ plan_id: "tiny" }).where("id", "=", orgId).execute();
    try {
      const limited = await api.admin.post("templates/faq/deploy", { slug: "over-limit" });
      expect(limited.status).toBe(403);
      expect(limited.body).toMatchObject({
        type: "urn:isola:problem:plan-limit",
        detail: expect.stringMatching(/Tiny plan allows 1 servers/),
      });
      expect(
        await db.selectFrom("servers").select("id").where("slug", "=", "over-limit").executeTakeFirst(),
      ).toBeUndefined();
    } finally {
      await db.updateTable("orgs").set({ plan_id: plan }).where("id", "=", orgId).execute();
    }
  });
});
