import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { type Answer, deploySource, initializeRequest, inject, quickDatabase, updateServer } from "../support/mcp.ts";

// The Streamable HTTP endpoint's edges, table-driven, in-process (app.inject): routing, the
// checks before a message is read, and what each refusal looks like. PUBLIC_URL is
// https://isola.test; servers are also host-routed at <slug>.mcp.test.

const ORIGIN = "https://isola.test";
const ping = (id: number | string = 1) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });
const initialize = JSON.stringify(initializeRequest());

interface Case {
  name: string;
  method?: string;
  url: string;
  body?: string | Buffer;
  /** Headers on top of the defaults (JSON content type, Accept of both); undefined removes one. */
  headers?: Record<string, string | undefined>;
  /** Send the session of /edges/mcp. */
  session?: boolean;
  status: number;
  /** The JSON-RPC error code of the answer, when it is one. */
  code?: number;
  message?: RegExp;
  expectHeaders?: Record<string, string | RegExp>;
  check?: (answer: Answer) => void;
}

describe("the Streamable HTTP endpoint's edges", () => {
  let api: Api;
  let session: Record<string, string>;

  beforeAll(async () => {
    api = await startApi(quickDatabase(), { ISOLA_MCP_DOMAIN: "mcp.test" });
    await deploySource(api.admin, "edges", HELLO_SOURCE);
    await updateServer(api.admin, "edges", {
      allowedOrigins: ["https://app.example.com"],
      customDomain: "tools.example.com",
    });
    await deploySource(api.admin, "sleepy", HELLO_SOURCE);
    expect((await api.admin.post("servers/sleepy/pause")).status).toBe(200);
    await api.admin.post("servers", { slug: "drafty", name: "drafty", authMode: "public" });
    await api.admin.post("servers", { slug: "guarded", name: "guarded", authMode: "oauth" });
    await api.admin.post("servers", { slug: "keyed", name: "keyed", authMode: "api_key" });
    const opened = await inject(api.app, "/edges/mcp", { body: initialize });
    expect(opened.status).toBe(200);
    session = { "mcp-session-id": opened.headers["mcp-session-id"] as string, "mcp-protocol-version": "2025-11-25" };
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  const cases: Case[] = [
    // Routing
    {
      name: "unknown slug (POST)",
      url: "/nope/mcp",
      body: ping(),
      status: 404,
      code: -32000,
      message: /no such server/,
    },
    { name: "unknown slug (GET)", method: "GET", url: "/nope/mcp", status: 404, code: -32000 },
    { name: "unknown slug (DELETE)", method: "DELETE", url: "/nope/mcp", status: 404, code: -32000 },
    { name: "slug with a NUL byte", url: "/a%00b/mcp", body: ping(), status: 404, code: -32000 },
    { name: "slug with letters no slug has", url: "/%C3%A9t%C3%A9/mcp", body: ping(), status: 404, code: -32000 },
    // The router refuses these before any route: still a JSON-RPC error.
    { name: "slug that is not UTF-8", url: "/%ff/mcp", body: ping(), status: 400, code: -32600 },
    { name: "very long slug", url: `/${"a".repeat(5000)}/mcp`, body: ping(), status: 400, code: -32600 },
    { name: "paused server", url: "/sleepy/mcp", body: initialize, status: 503, code: -32000, message: /paused/ },
    {
      name: "server with nothing deployed",
      url: "/drafty/mcp",
      body: initialize,
      status: 503,
      code: -32000,
      message: /no deployed version/,
    },
    // Accept
    {
      name: "no Accept",
      url: "/edges/mcp",
      body: initialize,
      headers: { accept: undefined },
      status: 406,
      code: -32000,
    },
    {
      name: "Accept of JSON only",
      url: "/edges/mcp",
      body: initialize,
      headers: { accept: "application/json" },
      status: 406,
      message: /Accept/,
    },
    {
      name: "Accept of SSE only",
      url: "/edges/mcp",
      body: initialize,
      headers: { accept: "text/event-stream" },
      status: 406,
    },
    { name: "Accept */*", url: "/edges/mcp", body: initialize, headers: { accept: "*/*" }, status: 200 },
    {
      name: "Accept with parameters and q-values",
      url: "/edges/mcp",
      body: initialize,
      headers: { accept: "application/json;q=0.9, text/event-stream;q=0.8" },
      status: 200,
    },
    // Content type
    {
      name: "text/plain body",
      url: "/edges/mcp",
      body: initialize,
      headers: { "content-type": "text/plain" },
      status: 415,
      code: -32600,
    },
    {
      name: "XML body",
      url: "/edges/mcp",
      body: "<a/>",
      headers: { "content-type": "application/xml" },
      status: 415,
      code: -32600,
    },
    {
      name: "form body",
      url: "/edges/mcp",
      body: "a=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
    },
    {
      name: "no content type",
      url: "/edges/mcp",
      body: initialize,
      headers: { "content-type": undefined },
      status: 415,
    },
    {
      name: "JSON with a charset",
      url: "/edges/mcp",
      body: initialize,
      headers: { "content-type": "application/json; charset=utf-8" },
      status: 200,
    },
    // Bodies
    {
      name: "a batch",
      url: "/edges/mcp",
      body: JSON.stringify([JSON.parse(ping())]),
      session: true,
      status: 400,
      code: -32600,
      message: /batch/,
    },
    { name: "an empty batch", url: "/edges/mcp", body: "[]", session: true, status: 400, code: -32600 },
    { name: "a batch of initialize", url: "/edges/mcp", body: `[${initialize}]`, status: 400, code: -32600 },
    { name: "bad JSON", url: "/edges/mcp", body: '{"jsonrpc": "2.0", "id": 1,', status: 400, code: -32700 },
    { name: "empty body", url: "/edges/mcp", body: "", status: 400, code: -32700 },
    { name: "a JSON string", url: "/edges/mcp", body: '"ping"', status: 400, code: -32600 },
    { name: "JSON null", url: "/edges/mcp", body: "null", status: 400, code: -32600 },
    {
      name: "__proto__ in the body",
      url: "/edges/mcp",
      body: '{"jsonrpc":"2.0","id":1,"method":"ping","__proto__":{"x":1}}',
      status: 400,
    },
    {
      name: "wrong jsonrpc version (id echoed)",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "1.0", id: 42, method: "ping" }),
      status: 400,
      code: -32600,
      check: (answer) => expect(answer.json.id).toBe(42),
    },
    {
      name: "id null",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: null, method: "ping" }),
      status: 400,
      code: -32600,
      check: (answer) => expect(answer.json).not.toHaveProperty("id"),
    },
    {
      name: "initialize without clientInfo",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "initialize", params: { protocolVersion: "2025-11-25" } }),
      status: 400,
      code: -32602,
      check: (answer) => expect(answer.json.id).toBe(3),
    },
    {
      name: "body over 1 MiB",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(1024 * 1024) } }),
      session: true,
      status: 413,
      code: -32600,
    },
    {
      name: "body just under 1 MiB",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(1024 * 1024 - 100) } }),
      session: true,
      status: 200,
    },
    // Origin
    {
      name: "Origin of another site",
      url: "/edges/mcp",
      body: initialize,
      headers: { origin: "https://evil.example" },
      status: 403,
      code: -32000,
      message: /origin/,
    },
    { name: "Origin null", url: "/edges/mcp", body: initialize, headers: { origin: "null" }, status: 403 },
    {
      name: "Origin differing only by scheme",
      url: "/edges/mcp",
      body: initialize,
      headers: { origin: "http://app.example.com" },
      status: 403,
    },
    {
      name: "Origin the server allows",
      url: "/edges/mcp",
      body: initialize,
      headers: { origin: "https://app.example.com" },
      status: 200,
    },
    {
      name: "this instance's own Origin",
      url: "/edges/mcp",
      body: initialize,
      headers: { origin: ORIGIN },
      status: 200,
    },
    {
      name: "Origin checked on GET too",
      method: "GET",
      url: "/edges/mcp",
      headers: { origin: "https://evil.example" },
      status: 403,
    },
    {
      name: "Origin checked on DELETE too",
      method: "DELETE",
      url: "/edges/mcp",
      headers: { origin: "https://evil.example" },
      session: true,
      status: 403,
    },
    // Notifications, responses, sessions
    {
      name: "a notification",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      session: true,
      status: 202,
      check: (answer) => expect(answer.text).toBe(""),
    },
    {
      name: "a response nobody waits for",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: "isola-nobody", result: {} }),
      session: true,
      status: 202,
    },
    {
      name: "an error response",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: 5, error: { code: -1, message: "no" } }),
      session: true,
      status: 202,
    },
    {
      name: "a notification without a session",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      status: 400,
      message: /Mcp-Session-Id/,
    },
    { name: "a request without a session", url: "/edges/mcp", body: ping(), status: 400, message: /Mcp-Session-Id/ },
    {
      name: "a request with an unknown session",
      url: "/edges/mcp",
      body: ping(),
      headers: { "mcp-session-id": "unknown-session-id" },
      status: 404,
    },
    {
      name: "a session id with characters a session id never has",
      url: "/edges/mcp",
      body: ping(),
      headers: { "mcp-session-id": "a b" },
      status: 404,
    },
    {
      name: "an unknown method",
      url: "/edges/mcp",
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/explode" }),
      session: true,
      status: 200,
      code: -32601,
    },
    ...["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"].map(
      (method): Case => ({
        name: `a method named ${method} (Object.prototype's, not a method)`,
        url: "/edges/mcp",
        body: JSON.stringify({ jsonrpc: "2.0", id: 11, method }),
        session: true,
        status: 200,
        code: -32601,
      }),
    ),
    {
      name: "a message nested 129 levels deep",
      url: "/edges/mcp",
      body: `{"jsonrpc":"2.0","id":12,"method":"ping","params":{"a":${"[".repeat(127)}${"]".repeat(127)}}}`,
      session: true,
      status: 400,
      code: -32600,
      message: /nests deeper than 128/,
      check: (answer) => expect(answer.json.id).toBe(12),
    },
    {
      name: "a message nested 128 levels deep",
      url: "/edges/mcp",
      body: `{"jsonrpc":"2.0","id":13,"method":"ping","params":{"a":${"[".repeat(126)}${"]".repeat(126)}}}`,
      session: true,
      status: 200,
    },
    {
      name: "a valid request",
      url: "/edges/mcp",
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 10,
        method: "tools/call",
        params: { name: "hello", arguments: { name: "edge" } },
      }),
      session: true,
      status: 200,
      check: (answer) => expect(answer.json.result.content[0].text).toBe("Hello, edge!"),
    },
    // GET and DELETE
    {
      name: "GET without Last-Event-ID (no standalone stream)",
      method: "GET",
      url: "/edges/mcp",
      headers: { accept: "text/event-stream" },
      session: true,
      status: 405,
      expectHeaders: { allow: "POST, DELETE" },
    },
    {
      name: "GET with Last-Event-ID but no session",
      method: "GET",
      url: "/edges/mcp",
      headers: { accept: "text/event-stream", "last-event-id": "abc:1-0" },
      status: 400,
    },
    {
      name: "GET with Last-Event-ID without Accept of SSE",
      method: "GET",
      url: "/edges/mcp",
      headers: { accept: "application/json", "last-event-id": "abc:1-0" },
      session: true,
      status: 406,
    },
    {
      name: "GET with a malformed Last-Event-ID",
      method: "GET",
      url: "/edges/mcp",
      headers: { accept: "text/event-stream", "last-event-id": "not an id" },
      session: true,
      status: 400,
    },
    {
      name: "GET with a Last-Event-ID of no stream",
      method: "GET",
      url: "/edges/mcp",
      headers: { accept: "text/event-stream", "last-event-id": "abc:1-0" },
      session: true,
      status: 400,
      message: /Last-Event-ID/,
    },
    { name: "DELETE without a session", method: "DELETE", url: "/edges/mcp", status: 400 },
    {
      name: "DELETE of an unknown session",
      method: "DELETE",
      url: "/edges/mcp",
      headers: { "mcp-session-id": "unknown-session-id" },
      status: 404,
    },
    { name: "PUT", method: "PUT", url: "/edges/mcp", body: ping(), status: 404 },
    // Host routing
    {
      name: "host-routed <slug>.<ISOLA_MCP_DOMAIN>/mcp",
      url: "/mcp",
      body: initialize,
      headers: { host: "edges.mcp.test" },
      status: 200,
      check: (answer) => expect(answer.json.result.serverInfo.name).toBe("hello"),
    },
    {
      name: "host-routed, host in capitals and with a port",
      url: "/mcp",
      body: initialize,
      headers: { host: "EDGES.MCP.TEST:8443" },
      status: 200,
    },
    {
      name: "host-routed unknown slug",
      url: "/mcp",
      body: initialize,
      headers: { host: "nope.mcp.test" },
      status: 404,
    },
    {
      name: "host-routed nested subdomain",
      url: "/mcp",
      body: initialize,
      headers: { host: "a.edges.mcp.test" },
      status: 404,
    },
    { name: "the bare MCP domain", url: "/mcp", body: initialize, headers: { host: "mcp.test" }, status: 404 },
    {
      name: "/mcp on the instance's own host",
      url: "/mcp",
      body: initialize,
      headers: { host: "isola.test" },
      status: 404,
    },
    {
      name: "host-routed paused server",
      url: "/mcp",
      body: initialize,
      headers: { host: "sleepy.mcp.test" },
      status: 503,
      message: /paused/,
    },
    {
      name: "a custom domain",
      url: "/mcp",
      body: initialize,
      headers: { host: "tools.example.com" },
      status: 200,
      check: (answer) => expect(answer.json.result.serverInfo.name).toBe("hello"),
    },
    {
      name: "a custom domain in capitals",
      url: "/mcp",
      body: initialize,
      headers: { host: "Tools.Example.Com" },
      status: 200,
    },
    // Protected resource metadata (RFC 9728)
    {
      name: "PRM of an oauth server, path-inserted",
      method: "GET",
      url: "/.well-known/oauth-protected-resource/guarded/mcp",
      status: 200,
      check: (answer) =>
        expect(answer.json).toMatchObject({
          resource: `${ORIGIN}/guarded/mcp`,
          authorization_servers: [`${ORIGIN}/oauth`],
          scopes_supported: ["mcp:tools"],
          bearer_methods_supported: ["header"],
        }),
    },
    {
      name: "PRM of an oauth server, host-routed",
      method: "GET",
      url: "/.well-known/oauth-protected-resource/mcp",
      headers: { host: "guarded.mcp.test" },
      status: 200,
      check: (answer) => expect(answer.json.resource).toMatch(/^https?:\/\/guarded\.mcp\.test\/mcp$/),
    },
    {
      name: "PRM of a public server",
      method: "GET",
      url: "/.well-known/oauth-protected-resource/edges/mcp",
      status: 404,
      check: (answer) => expect(answer.json.error).toBe("not_found"),
    },
    {
      name: "PRM of an api_key server",
      method: "GET",
      url: "/.well-known/oauth-protected-resource/keyed/mcp",
      status: 404,
    },
    { name: "PRM of no server", method: "GET", url: "/.well-known/oauth-protected-resource/nope/mcp", status: 404 },
    { name: "no root PRM", method: "GET", url: "/.well-known/oauth-protected-resource", status: 404 },
    {
      name: "no root PRM at /mcp on the instance's own host",
      method: "GET",
      url: "/.well-known/oauth-protected-resource/mcp",
      headers: { host: "isola.test" },
      status: 404,
    },
  ];

  it.each(cases)("$name -> $status", async (testCase) => {
    const answer = await inject(api.app, testCase.url, {
      method: testCase.method ?? "POST",
      ...(testCase.body === undefined ? {} : { body: testCase.body }),
      headers: { ...(testCase.session ? session : {}), ...testCase.headers },
    });
    expect(answer.status, answer.text.slice(0, 300)).toBe(testCase.status);
    if (answer.status !== 202 && answer.status !== 405 && testCase.method !== "PUT") {
      expect(answer.contentType).toMatch(/^(application\/json|text\/event-stream)/);
    }
    if (answer.status >= 400 && answer.json?.jsonrpc) expect(answer.json.error.message).toEqual(expect.any(String));
    if (testCase.code !== undefined) {
      expect(answer.json.jsonrpc).toBe("2.0");
      expect(answer.json.error.code).toBe(testCase.code);
    }
    if (testCase.message) expect(answer.json.error.message).toMatch(testCase.message);
    for (const [name, value] of Object.entries(testCase.expectHeaders ?? {})) {
      if (typeof value === "string") expect(answer.headers[name]).toBe(value);
      else expect(answer.headers[name]).toMatch(value);
    }
    testCase.check?.(answer);
  });

  it("answers a refusal with the JSON-RPC error shape, never a 500", async () => {
    // Every case above was answered; none was a server error.
    const lines = api.logs.map((line) => JSON.parse(line) as { msg: string; access?: { status: number } });
    const statuses = lines.filter((line) => line.msg === "mcp request").map((line) => line.access?.status);
    expect(statuses.length).toBeGreaterThan(cases.length / 2);
    expect(statuses.filter((status) => (status ?? 500) >= 500 && status !== 503)).toEqual([]);
  });

  it("allows a new Origin as soon as the server's settings say so", async () => {
    const origin = { origin: "https://later.example.com" };
    expect((await inject(api.app, "/edges/mcp", { body: initialize, headers: origin })).status).toBe(403);
    await updateServer(api.admin, "edges", { allowedOrigins: ["https://later.example.com"] });
    expect((await inject(api.app, "/edges/mcp", { body: initialize, headers: origin })).status).toBe(200);
    // The old one is gone.
    const before = { origin: "https://app.example.com" };
    expect((await inject(api.app, "/edges/mcp", { body: initialize, headers: before })).status).toBe(403);
  });

  it("serves a paused server again when it is resumed", async () => {
    expect((await api.admin.post("servers/sleepy/resume")).status).toBe(200);
    expect((await inject(api.app, "/sleepy/mcp", { body: initialize })).status).toBe(200);
  });
});
