// The notion-search template's tools in a real sandbox, against a fake Notion API on loopback
// (api.notion.com resolves there; only the scheme and port of apiUrl change).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonPayload, startUpstream, type Upstream } from "./fake-upstream.ts";
import { type Deployed, startTemplateSandbox, type TemplateSandbox, textOf } from "./template-sandbox.ts";

let sandbox: TemplateSandbox;
let upstream: Upstream;
let notion: Deployed;
const ENV = { NOTION_TOKEN: "ntn_4215830762716YdIYRrrXj2Zn5mZRBo9wC2Ymen1" };
const PAGE = "59833787-2cf9-4fdf-8782-e53db20768a5";

beforeAll(async () => {
  [sandbox, upstream] = await Promise.all([startTemplateSandbox(), startUpstream()]);
  notion = await sandbox.deploy("notion-search", { apiUrl: `http://api.notion.com:${upstream.port}` });
}, 60_000);
afterAll(async () => {
  await Promise.all([sandbox?.close(), upstream?.close()]);
});

describe("search_notion", () => {
  it("posts the search with the integration's secret and version, and lists what is not in the trash", async () => {
    upstream.on("POST", "/v1/search", { body: jsonPayload("notion-search.json") });
    const result = await notion.call("search_notion", { query: "launch", kind: "any", limit: 3 }, ENV);
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({
      items: [
        {
          id: PAGE,
          kind: "page",
          title: "Launch plan",
          url: "https://www.notion.so/Launch-plan-598337872cf94fdf8782e53db20768a5",
          lastEdited: "2024-07-06T20:25:00.000Z",
        },
        {
          id: "d9824bdc-8445-4327-be8b-5b47500af6ce",
          kind: "database",
          title: "Launch tasks",
          url: "https://www.notion.so/d9824bdc84454327be8b5b47500af6ce",
          lastEdited: "2024-07-02T12:00:00.000Z",
        },
      ],
      nextCursor: "e6c6f5ff-c70e-4bcd-a1b3-6c2d6d4b0a63",
    });
    const sent = upstream.last("/v1/search");
    expect(sent.method).toBe("POST");
    expect(sent.headers.authorization).toBe(`Bearer ${ENV.NOTION_TOKEN}`);
    expect(sent.headers["notion-version"]).toBe("2022-06-28");
    expect(JSON.parse(sent.body)).toEqual({
      query: "launch",
      sort: { direction: "descending", timestamp: "last_edited_time" },
      page_size: 3,
    });
  });

  it("filters by kind and passes a cursor on", async () => {
    upstream.on("POST", "/v1/search", { body: { object: "list", results: [], next_cursor: null, has_more: false } });
    const result = await notion.call("search_notion", { query: "", kind: "database", cursor: "abc" }, ENV);
    expect(result.structuredContent).toEqual({ items: [], nextCursor: null });
    expect(JSON.parse(upstream.last("/v1/search").body)).toEqual({
      filter: { property: "object", value: "database" },
      sort: { direction: "descending", timestamp: "last_edited_time" },
      page_size: 10,
      start_cursor: "abc",
    });
  });
});

describe("read_page", () => {
  it("reads the page's properties as text and its blocks as markdown-like lines", async () => {
    upstream.on("GET", `/v1/pages/${PAGE}`, { body: jsonPayload("notion-page.json") });
    upstream.on("GET", `/v1/blocks/${PAGE}/children`, { body: jsonPayload("notion-blocks.json") });
    const result = await notion.call("read_page", { id: PAGE }, ENV);
    expect(result.structuredContent).toEqual({
      id: PAGE,
      title: "Launch plan",
      url: "https://www.notion.so/Launch-plan-598337872cf94fdf8782e53db20768a5",
      lastEdited: "2024-07-06T20:25:00.000Z",
      properties: {
        Status: "In progress",
        Tags: "marketing, q3",
        Due: "2024-09-01",
        Budget: "12000",
        Done: "false",
        Owner: "Ada Lovelace",
      },
      text: "## Goals\nShip the beta to 100 teams.\n- [x] Write the announcement\n- Pricing page\n[image]",
      truncated: false,
    });
    expect(upstream.last(`/v1/blocks/${PAGE}/children`).url).toContain("page_size=100");
  });

  it("says the page may not be shared with the integration on a 404", async () => {
    const missing = "00000000000000000000000000000000";
    upstream.on("GET", `/v1/pages/${missing}`, {
      status: 404,
      body: {
        object: "error",
        status: 404,
        code: "object_not_found",
        message: `Could not find page with ID: ${missing}. Make sure the relevant pages and databases are shared with your integration.`,
        request_id: "0c1e0b0e-7b1a-4d2b-8f4e-9e0e7a6b5c4d",
      },
    });
    const result = await notion.call("read_page", { id: missing }, ENV);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Notion answered 404: object_not_found: Could not find page with ID: 0{32}\..*Connections/,
    );
  });
});

describe("Notion's errors become tool errors that say what happened", () => {
  const rows: [string, { status?: number; body: unknown; type?: string }, RegExp][] = [
    [
      "an invalid secret (401)",
      { status: 401, body: { object: "error", status: 401, code: "unauthorized", message: "API token is invalid." } },
      /^Notion answered 401: unauthorized: API token is invalid\. \(the NOTION_TOKEN secret is not a valid integration secret\)$/,
    ],
    [
      "a rate limit (429)",
      {
        status: 429,
        body: { object: "error", status: 429, code: "rate_limited", message: "You have been rate limited." },
      },
      /^Notion answered 429: rate_limited: .*wait a moment/,
    ],
    [
      "a gateway error page (502)",
      { status: 502, body: "<html>Bad gateway</html>", type: "text/html" },
      /^Notion answered 502: <html>Bad gateway<\/html>$/,
    ],
    [
      "an answer that is not JSON",
      { body: '{ "object": "list", ', type: "application/json" },
      /^Notion answered 200 with something that is not JSON$/,
    ],
    [
      "JSON of another shape",
      { body: { object: "list", results: "none" } },
      /^Notion's answer does not have the expected shape: .*results/s,
    ],
  ];
  it.each(rows)("%s", async (_name, reply, message) => {
    upstream.on("POST", "/v1/search", reply);
    const result = await notion.call("search_notion", { query: "x" }, ENV);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });
});

describe("bad input and a missing secret are refused before anything is sent", () => {
  const rows: [string, string, Record<string, unknown>, Record<string, string>, RegExp][] = [
    ["a page id that is no Notion id", "read_page", { id: "../users/me" }, ENV, /^Invalid arguments.*32 hex digits/s],
    ["a limit of 0", "search_notion", { query: "x", limit: 0 }, ENV, /^Invalid arguments.*limit/s],
    ["an unknown kind", "search_notion", { query: "x", kind: "block" }, ENV, /^Invalid arguments.*kind/s],
    ["no NOTION_TOKEN", "search_notion", { query: "x" }, {}, /^the NOTION_TOKEN secret is not set/],
  ];
  it.each(rows)("%s", async (_name, tool, args, env, message) => {
    const before = upstream.requests.length;
    const result = await notion.call(tool, args, env);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect(upstream.requests.length).toBe(before);
  });
});
