// The pure parts of Isola's MCP server, case by case: whose session is whose and which are closed,
// how declarative tools add up, which answers a secret request refuses, what get_build says to do next, and
// Isola's own MCP URL as an OAuth resource.
import {
  answerErrors,
  callerKey,
  deletionRefused,
  mergeDeclarative,
  nextStep,
  SessionTable,
} from "@isola/control/mcp-server";
import { ISOLA_RESOURCE, isolaMcpResource, resolveResource } from "@isola/control/oauth";
import type { BuildView, Database, DeclarativeServer } from "@isola/schema";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";

describe("the session table", () => {
  const session = (id: string, caller: string) => ({
    id,
    caller,
    server: new McpServer({ name: "t", version: "1" }),
    transport: new StreamableHTTPServerTransport({ sessionIdGenerator: () => id }),
  });

  it("shows a session only to the caller that opened it", () => {
    const table = new SessionTable();
    table.add(session("s1", "token:a"));
    expect(table.get("s1", "token:a")?.id).toBe("s1");
    expect(table.get("s1", "token:b")).toBeUndefined();
    expect(table.get("nope", "token:a")).toBeUndefined();
  });

  it("closes a caller's oldest session past its limit, and the least recently used past the total", () => {
    const table = new SessionTable({ perCaller: 2, total: 3, idleMs: 60_000 });
    table.add(session("a1", "A"));
    table.add(session("a2", "A"));
    table.add(session("a3", "A"));
    expect(table.get("a1", "A")).toBeUndefined();
    expect(table.size).toBe(2);
    table.add(session("b1", "B"));
    table.get("a2", "A");
    table.add(session("b2", "B"));
    // a3 was used least recently.
    expect(table.get("a3", "A")).toBeUndefined();
    expect([table.get("a2", "A")?.id, table.get("b1", "B")?.id, table.get("b2", "B")?.id]).toEqual(["a2", "b1", "b2"]);
  });

  it("closes the sessions idle past the limit", async () => {
    let now = 0;
    const table = new SessionTable({ perCaller: 10, total: 10, idleMs: 1000 }, () => now);
    table.add(session("old", "A"));
    now = 900;
    table.add(session("new", "A"));
    now = 1500;
    await table.sweep();
    expect(table.get("old", "A")).toBeUndefined();
    expect(table.get("new", "A")?.id).toBe("new");
  });

  it.each([
    [{ via: "token" as const, userId: "u", email: "e", tokenId: "t1", tokenName: "n", orgId: "o" }, "token:t1"],
    [{ via: "oauth" as const, userId: "u", email: "e", clientId: "c" }, "oauth:u:c"],
    [{ via: "oauth" as const, userId: "u", email: "e", clientId: null }, "oauth:u:"],
  ])("binds %j's sessions to %s", (actor, key) => {
    expect(callerKey(actor)).toBe(key);
  });
});

describe("declarative tools add up", () => {
  const tool = (name: string, result: unknown = name) => ({ kind: "static" as const, name, description: "d", result });
  const current = { name: "notes", description: "Notes", tools: [tool("a"), tool("b")] } as DeclarativeServer;
  const server = { name: "Server name", description: "" };

  it.each([
    ["to none, named after the server", null, [tool("x")], { name: "Server name", tools: [tool("x")] }],
    [
      "after the current ones",
      current,
      [tool("c")],
      { name: "notes", description: "Notes", tools: [tool("a"), tool("b"), tool("c")] },
    ],
    [
      "replacing one of the same name, ignoring case",
      current,
      [tool("A", 2)],
      { name: "notes", description: "Notes", tools: [tool("b"), tool("A", 2)] },
    ],
  ])("%s", (_case, before, added, after) => {
    expect(mergeDeclarative(before, server, added)).toEqual(after);
  });

  it("keeps the server's description when it has one", () => {
    expect(mergeDeclarative(null, { name: "n", description: "About" }, [tool("x")]).description).toBe("About");
  });
});

describe("what an answer to a secret request gets wrong", () => {
  const fields = [
    { name: "API_KEY", required: true },
    { name: "REGION", required: false },
  ];
  it.each([
    [{ API_KEY: "k" }, []],
    [{ API_KEY: "k", REGION: "eu" }, []],
    [{}, [{ path: "values.API_KEY", message: "API_KEY is required" }]],
    [{ REGION: "eu" }, [{ path: "values.API_KEY", message: "API_KEY is required" }]],
    [{ API_KEY: "k", OTHER: "x" }, [{ path: "values.OTHER", message: "this request does not ask for OTHER" }]],
    [
      { api_key: "k" },
      [
        { path: "values.API_KEY", message: "API_KEY is required" },
        { path: "values.api_key", message: "this request does not ask for api_key" },
      ],
    ],
  ])("%j", (values, errors) => {
    expect(answerErrors(fields, values as Record<string, string>)).toEqual(errors);
  });
});

describe("what get_build says to do next", () => {
  const base: BuildView = {
    id: "00000000-0000-4000-8000-000000000001",
    kind: "new",
    status: "queued",
    prompt: "p",
    org: "o",
    server: null,
    authMode: "public",
    autoDeploy: true,
    plan: null,
    round: 0,
    maxRounds: 3,
    version: null,
    url: null,
    error: null,
    createdAt: new Date(0).toISOString(),
    finishedAt: null,
  };
  const plan = {
    summary: "Weather.",
    server: { name: "weather", description: "" },
    tools: [],
    resources: [],
    prompts: [],
    secrets: [{ name: "KEY", description: "", howToGet: "", required: true }],
    egress: ["api.example.com"],
    questions: [{ id: "units", question: "Which units?", assumption: "metric" }],
  };

  it.each([
    [{ status: "planning" }, /planning the server; call get_build/],
    [
      { status: "waiting", plan },
      /Question units: Which units\? \(if unanswered: metric\)[\s\S]*approve them\): api.example.com[\s\S]*enter them\): KEY[\s\S]*answer_build/,
    ],
    [{ status: "checking", round: 2 }, /round 2 of 3/],
    [{ status: "succeeded", url: "https://h/w/mcp", version: 1 }, /live at https:\/\/h\/w\/mcp \(version 1\)/],
    [{ status: "succeeded", server: "w", version: 2, autoDeploy: false }, /Version 2 of w is stored, not deployed/],
    [{ status: "failed", error: { message: "after 3 rounds" } }, /The build failed: after 3 rounds/],
    [{ status: "cancelled" }, /cancelled/],
  ])("%j", (change, says) => {
    expect(nextStep({ ...base, ...change } as BuildView)).toMatch(says);
  });
});

describe("Isola's own MCP URL as an OAuth resource", () => {
  // Never queried: the URL is recognised before any server is looked up.
  const db = {} as Kysely<Database>;

  it.each([
    ["https://isola.example.com", "https://isola.example.com/_isola/mcp"],
    ["http://localhost:3000", "http://localhost:3000/_isola/mcp"],
  ])("for %s is %s, which every account may authorize with mcp:tools", async (publicUrl, url) => {
    expect(isolaMcpResource(publicUrl)).toBe(url);
    expect(await resolveResource(db, url, { publicUrl })).toEqual({ ok: true, server: ISOLA_RESOURCE });
    expect(ISOLA_RESOURCE).toMatchObject({ accessPolicy: { kind: "instance" }, scopes: ["mcp:tools"] });
  });

  it("is that URL exactly: another spelling of it names nothing", async () => {
    const parsed = await resolveResource(db, "https://isola.example.com/_isola/mcp/", {
      publicUrl: "https://isola.example.com",
    });
    expect(parsed.ok).toBe(false);
  });
});

describe("delete_server's confirmation", () => {
  it.each([
    ["the slug itself", "weather", "weather", undefined],
    [
      "another word",
      "weather",
      "yes",
      /^Nothing was deleted: confirm \("yes"\) is not the server's slug \("weather"\)/,
    ],
    ["the slug in capitals", "weather", "WEATHER", /confirm \("WEATHER"\)/],
    ["the slug with a space", "weather", "weather ", /confirm \("weather "\)/],
    ["nothing", "weather", "", /confirm \(""\)/],
    ["another server's slug", "weather", "weather-2", /confirm \("weather-2"\)/],
  ])("%s", (_case, server, confirm, refused) => {
    const answer = deletionRefused(server, confirm);
    if (refused === undefined) expect(answer).toBeUndefined();
    else {
      expect(answer).toMatch(refused);
      expect(answer).toContain('call delete_server again with confirm set to "weather"');
    }
  });

  it("quotes at most 100 characters of what was typed", () => {
    const answer = deletionRefused("weather", "x".repeat(150)) ?? "";
    expect(answer).toContain(`"${"x".repeat(100)}"`);
    expect(answer).not.toContain("x".repeat(101));
  });
});
