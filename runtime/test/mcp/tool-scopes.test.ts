import { type ServerLogLine, serverLogKey } from "@isola/schema";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scopeShortfall, supportedScopes } from "../../src/mcp/auth/tool-scopes.ts";
import type { Caller, MethodContext } from "../../src/mcp/context.ts";
import { callTool } from "../../src/mcp/methods/tools.ts";
import { type Api, startApi } from "../support/api-harness.ts";
import { storeGrant } from "../support/grants.ts";
import { deploySource, messagesOf, openSession, quickDatabase, send, updateServer } from "../support/mcp.ts";
import { TestIssuer } from "../support/test-issuer.ts";

// Step-up scopes declared by tool code (`tool({ scopes })`): an OAuth caller whose token lacks
// a tool's scope is answered 403 insufficient_scope naming it, before the tool runs; the
// protected resource metadata lists the scopes; tools/list does not carry them.

const NOTES_SOURCE = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "notes",
  tools: {
    read_note: tool({ description: "Reads the note", input: z.object({}), run: () => "the note" }),
    write_note: tool({
      description: "Writes the note",
      input: z.object({ text: z.string() }),
      scopes: ["notes:write"],
      run: ({ text }, ctx) => {
        ctx.log.info("writing " + text);
        return "saved " + text;
      },
    }),
    purge_notes: tool({
      description: "Deletes every note",
      input: z.object({}),
      scopes: ["notes:write", "notes:admin"],
      run: () => "purged",
    }),
  },
});
`;

const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text;

describe("what a caller lacks for a tool", () => {
  const oauth = (scopes: string[]): Caller => ({
    kind: "oauth",
    label: "u via c",
    user: { subject: "u", clientId: "c", scopes },
    rateKey: "s:sub:u",
  });
  const key: Caller = {
    kind: "key",
    label: "k",
    user: { subject: "k", clientId: null, scopes: [] },
    rateKey: "s:key:k",
  };
  const anonymous: Caller = { kind: "anonymous", label: "anonymous", user: null, rateKey: "s:ip:x" };
  const tool = (scopes?: string[]) => ({
    name: "t",
    description: "d",
    inputSchema: { type: "object" },
    ...(scopes ? { scopes } : {}),
  });

  const rows: [string, Caller, ReturnType<typeof tool> | undefined, ReturnType<typeof scopeShortfall>][] = [
    ["a tool without scopes", oauth(["mcp:tools"]), tool(), undefined],
    ["an empty list", oauth(["mcp:tools"]), tool([]), undefined],
    ["an unknown tool", oauth([]), undefined, undefined],
    ["a token with every scope", oauth(["mcp:tools", "b", "a", "c"]), tool(["a", "b"]), undefined],
    [
      "a token with one of two",
      oauth(["mcp:tools", "b"]),
      tool(["a", "b"]),
      { tool: "t", required: ["mcp:tools", "a", "b"], missing: ["a"] },
    ],
    ["a token with none", oauth([]), tool(["a"]), { tool: "t", required: ["mcp:tools", "a"], missing: ["a"] }],
    ["an API key", key, tool(["a"]), undefined],
    ["an anonymous caller", anonymous, tool(["a"]), undefined],
  ];
  it.each(rows)("%s", (_name, caller, candidate, expected) => {
    expect(scopeShortfall(caller, candidate)).toEqual(expected);
  });

  it("advertises mcp:tools alone for a server with nothing deployed or no scopes", () => {
    expect(supportedScopes(undefined)).toEqual(["mcp:tools"]);
    expect(supportedScopes({ tools: [tool(), tool(["b", "a"]), tool(["a"])] })).toEqual(["mcp:tools", "a", "b"]);
  });

  it("is refused by tools/call itself too, on a path that skipped the endpoint's check", async () => {
    const context = {
      server: { version: { id: "v", number: 1, hash: "h", manifest: { tools: [tool(["a"])] } } },
      caller: oauth(["mcp:tools"]),
      request: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "t", arguments: {} } },
    } as unknown as MethodContext;
    await expect(callTool(context)).rejects.toMatchObject({
      code: -32000,
      message: "the tool t needs the scope a, which the access token lacks",
    });
  });
});

describe("scopes a tool requires", () => {
  const issuer = new TestIssuer();
  let api: Api;
  let url: string;
  let metadataUrl: string;
  let grant: string;
  const token = (scope: string, sub = "user-1") => issuer.mint(api.url, url, scope, { sub, grant_id: grant });
  const bearer = async (scope: string, sub?: string) => ({ authorization: `Bearer ${await token(scope, sub)}` });

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true, plugins: [issuer.plugin] });
    grant = await storeGrant(api.stores.db, { accountId: "user-1" });
    await deploySource(api.admin, "notes", NOTES_SOURCE, { authMode: "oauth" });
    await updateServer(api.admin, "notes", { legacySse: true });
    await deploySource(api.admin, "notes-keyed", NOTES_SOURCE, { authMode: "api_key" });
    await deploySource(api.admin, "notes-public", NOTES_SOURCE);
    url = `${api.url}/notes/mcp`;
    metadataUrl = `${api.url}/.well-known/oauth-protected-resource/notes/mcp`;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  /** The server's live log, as tool code and the runtime wrote it. */
  async function serverLog(slug = "notes"): Promise<ServerLogLine[]> {
    const server = await api.admin.get(`servers/${slug}`);
    const entries = await api.stores.bus.readAfter(serverLogKey(server.body.id), undefined, 1000);
    return entries.map((entry) => JSON.parse(entry.value) as ServerLogLine);
  }

  it("are listed in the protected resource metadata after mcp:tools, sorted and once each", async () => {
    const metadata = await send(metadataUrl, { method: "GET" });
    expect(metadata.status).toBe(200);
    expect(metadata.json.scopes_supported).toEqual(["mcp:tools", "notes:admin", "notes:write"]);
    // The first challenge still asks for mcp:tools only: clients start with the least.
    const unauthorized = await send(url, { body: call(1, "read_note") });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers["www-authenticate"]).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"`,
    );
  });

  it("stay out of tools/list: every tool carries MCP's fields only", async () => {
    const session = await openSession(url, { headers: await bearer("mcp:tools") });
    const listed = await send(url, { body: { jsonrpc: "2.0", id: 2, method: "tools/list" }, headers: session.headers });
    expect(listed.status).toBe(200);
    const tools = listed.json.result.tools as Record<string, unknown>[];
    expect(tools.map((tool) => tool.name)).toEqual(["read_note", "write_note", "purge_notes"]);
    for (const tool of tools) expect(Object.keys(tool).sort()).toEqual(["description", "inputSchema", "name"]);
    expect(listed.text).not.toContain("notes:write");
  });

  it("answer a token without the scope with 403 insufficient_scope, naming it, before the tool runs", async () => {
    const session = await openSession(url, { headers: await bearer("mcp:tools", "user-refused") });
    const answer = await send(url, { body: call(7, "write_note", { text: "refused-text" }), headers: session.headers });
    expect(answer.status).toBe(403);
    const challenge = answer.headers["www-authenticate"] as string;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp:tools notes:write"');
    expect(challenge).toContain(`resource_metadata="${metadataUrl}"`);
    expect(challenge).toContain('error_description="the tool write_note needs the scope notes:write');
    expect(answer.json).toEqual({
      jsonrpc: "2.0",
      id: 7,
      error: {
        code: -32000,
        message: "the tool write_note needs the scope notes:write, which the access token lacks",
        data: { error: "insufficient_scope", scope: "mcp:tools notes:write", missingScopes: ["notes:write"] },
      },
    });
    const log = await serverLog();
    expect(log.some((line) => line.message.includes("refused-text"))).toBe(false);
    expect(log).toContainEqual(
      expect.objectContaining({
        source: "runtime",
        tool: "write_note",
        caller: "user-refused via client-1",
        message: expect.stringMatching(/needs the scope notes:write.*step up/),
      }),
    );
  });

  it("let the same session call the tool once the token carries the scope (step-up)", async () => {
    const session = await openSession(url, { headers: await bearer("mcp:tools", "user-2") });
    const before = await send(url, { body: call(1, "write_note", { text: "a" }), headers: session.headers });
    expect(before.status).toBe(403);
    // A tool without scopes needs nothing beyond mcp:tools.
    const read = await send(url, { body: call(2, "read_note"), headers: session.headers });
    expect(read.status).toBe(200);
    expect(textOf(read.json.result)).toBe("the note");

    const headers = { ...session.headers, ...(await bearer("mcp:tools notes:write", "user-2")) };
    const after = await send(url, { body: call(3, "write_note", { text: "stepped-up" }), headers });
    expect(after.status).toBe(200);
    // The tool's log line went to the client first, so the answer is an event stream.
    const messages = messagesOf(after.events);
    expect(messages.at(-1)).toMatchObject({ id: 3, result: { content: [{ type: "text", text: "saved stepped-up" }] } });
    expect((await serverLog()).some((line) => line.message === "writing stepped-up")).toBe(true);
  });

  it("name only the missing scope when a tool needs several, and every scope the call needs in the challenge", async () => {
    const session = await openSession(url, { headers: await bearer("mcp:tools notes:write") });
    const answer = await send(url, { body: call(4, "purge_notes"), headers: session.headers });
    expect(answer.status).toBe(403);
    expect(answer.headers["www-authenticate"]).toContain('scope="mcp:tools notes:write notes:admin"');
    expect(answer.json.error.message).toBe(
      "the tool purge_notes needs the scope notes:admin, which the access token lacks",
    );
    expect(answer.json.error.data.missingScopes).toEqual(["notes:admin"]);

    const none = await openSession(url, { headers: await bearer("mcp:tools") });
    const both = await send(url, { body: call(5, "purge_notes"), headers: none.headers });
    expect(both.json.error.message).toBe(
      "the tool purge_notes needs the scopes notes:write notes:admin, which the access token lacks",
    );

    const admin = await openSession(url, { headers: await bearer("mcp:tools notes:admin notes:write offline_access") });
    const allowed = await send(url, { body: call(6, "purge_notes"), headers: admin.headers });
    expect(allowed.status).toBe(200);
    expect(textOf(allowed.json.result)).toBe("purged");
  });

  it("do not match by prefix or case", async () => {
    for (const scope of ["mcp:tools notes:writer", "mcp:tools notes", "mcp:tools NOTES:WRITE"]) {
      const session = await openSession(url, { headers: await bearer(scope) });
      const answer = await send(url, { body: call(1, "write_note", { text: "x" }), headers: session.headers });
      expect(answer.status, scope).toBe(403);
    }
  });

  it("leave other refusals alone: an unknown tool is still a JSON-RPC error of the call", async () => {
    const session = await openSession(url, { headers: await bearer("mcp:tools") });
    const answer = await send(url, { body: call(8, "no_such_tool"), headers: session.headers });
    expect(answer.status).toBe(200);
    expect(answer.json.error).toMatchObject({ code: -32602, message: "Unknown tool: no_such_tool" });
  });

  it("are not asked of API-key callers nor of public servers' callers", async () => {
    const key = (await api.admin.post("servers/notes-keyed/keys", { name: "scripts" })).body.key as string;
    for (const [slug, headers] of [
      ["notes-keyed", { "x-api-key": key }],
      ["notes-public", {}],
    ] as const) {
      const endpoint = `${api.url}/${slug}/mcp`;
      const session = await openSession(endpoint, { headers });
      const answer = await send(endpoint, { body: call(1, "purge_notes"), headers: session.headers });
      expect(answer.status, slug).toBe(200);
      expect(textOf(answer.json.result)).toBe("purged");
    }
    // Nor is there metadata to list them in: only OAuth servers have any.
    expect(
      (await send(`${api.url}/.well-known/oauth-protected-resource/notes-keyed/mcp`, { method: "GET" })).status,
    ).toBe(404);
  });

  it("hold on the legacy HTTP+SSE transport too", async () => {
    const connect = async (scope: string) => {
      const client = new Client({ name: "legacy", version: "1.0.0" });
      const headers = await bearer(scope);
      await client.connect(new SSEClientTransport(new URL(`${api.url}/notes/sse`), { requestInit: { headers } }));
      return client;
    };
    const without = await connect("mcp:tools");
    try {
      await expect(without.callTool({ name: "write_note", arguments: { text: "legacy" } })).rejects.toThrow(/403/);
      expect(textOf(await without.callTool({ name: "read_note", arguments: {} }))).toBe("the note");
    } finally {
      await without.close();
    }
    const withScope = await connect("mcp:tools notes:write");
    try {
      expect(textOf(await withScope.callTool({ name: "write_note", arguments: { text: "legacy" } }))).toBe(
        "saved legacy",
      );
    } finally {
      await withScope.close();
    }
  });
});
