import { randomBytes } from "node:crypto";
import type { Bus } from "@isola/schema";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport, type SSEClientTransportOptions } from "@modelcontextprotocol/sdk/client/sse.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  EmptyResultSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inLegacyVersion, messagesPath } from "../../src/mcp/legacy-sse.ts";
import { RedisBus } from "../../src/stores/redis-bus.ts";
import { type Api, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import {
  deploySource,
  EVERYTHING_SOURCE,
  inject,
  parseSse,
  type SseEvent,
  send,
  startRuntimeNode,
  updateServer,
} from "../support/mcp.ts";
import { RedisServer } from "../support/redis-server.ts";
import { eventually } from "../support/wait.ts";

// The legacy HTTP+SSE transport (MCP 2024-11-05): GET /<slug>/sse + POST /<slug>/messages,
// driven by the official SDK's SSEClientTransport, and raw where the wire itself is the point.

const textOf = (result: unknown) => (result as { content: { type: string; text: string }[] }).content[0]?.text;

async function connect(url: string, options: SSEClientTransportOptions = {}): Promise<Client> {
  const client = new Client(
    { name: "legacy-test", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  await client.connect(new SSEClientTransport(new URL(url), options));
  return client;
}

/**
 * Every message the client's stream delivered, in order. The SDK client runs notification
 * handlers a microtask late but responses at once, so a progress notification that arrives in
 * the same chunk as its response misses `onprogress`: the order on the wire is what counts.
 */
function received(client: Client): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  const transport = client.transport as SSEClientTransport;
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    seen.push(message as Record<string, unknown>);
    deliver?.(message);
  };
  return seen;
}

/** The progress values the stream carried for a request, and whether they all came before its response. */
function progressOf(seen: Record<string, unknown>[]): { values: unknown[]; beforeResponse: boolean } {
  const notifications = seen.filter((message) => message.method === "notifications/progress");
  const token = (notifications[0]?.params as { progressToken?: unknown } | undefined)?.progressToken;
  const answered = seen.findIndex((message) => message.id === token && ("result" in message || "error" in message));
  return {
    values: notifications.map((message) => (message.params as { progress: unknown }).progress),
    beforeResponse: answered > seen.lastIndexOf(notifications.at(-1) as Record<string, unknown>),
  };
}

/** A stream read event by event over a real socket. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  /** The next event with a name or data (heartbeat comments skipped); undefined once the stream ended. */
  async function next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const [event] = parseSse(buffer.slice(0, end + 2));
        buffer = buffer.slice(end + 2);
        if (event && (event.event || event.data)) return event;
        continue;
      }
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) return undefined;
      buffer += chunk.value;
    }
  }
  return { response, next, close: () => controller.abort() };
}

describe("where a legacy client POSTs, and in which version it is answered", () => {
  it.each([
    ["https://isola.example/hello/mcp", "/hello/messages"],
    ["https://hello.mcp.example/mcp", "/messages"],
    ["https://tools.customer.example/mcp", "/messages"],
  ])("next to the stream of %s: %s", (resource, path) => {
    expect(messagesPath({ resource, metadataUrl: "" })).toBe(path);
  });

  const answer = { jsonrpc: "2.0" as const, id: 1, result: { protocolVersion: "2025-11-25", capabilities: {} } };
  it.each([
    ["2024-11-05", "2024-11-05"],
    ["2025-03-26", "2025-11-25"],
    ["2025-11-25", "2025-11-25"],
    [undefined, "2025-11-25"],
    ["1999-01-01", "2025-11-25"],
  ])("a client asking for %s gets %s", (requested, expected) => {
    expect(inLegacyVersion(answer, requested)).toEqual({
      ...answer,
      result: { ...answer.result, protocolVersion: expected },
    });
  });

  it("leaves an error answer alone", () => {
    const error = { jsonrpc: "2.0" as const, id: 1, error: { code: -32602, message: "bad" } };
    expect(inLegacyVersion(error, "2024-11-05")).toBe(error);
  });
});

describe("the legacy HTTP+SSE transport", () => {
  let api: Api;
  let key: string;
  const clients: Client[] = [];
  const connected = async (url: string, options?: SSEClientTransportOptions) => {
    const client = await connect(url, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    api = await startApi(undefined, {}, { listen: true });
    await deploySource(api.admin, "everything", EVERYTHING_SOURCE);
    await updateServer(api.admin, "everything", { legacySse: true });
    await deploySource(api.admin, "plain", HELLO_SOURCE);
    await deploySource(api.admin, "keyed", HELLO_SOURCE, { authMode: "api_key" });
    await updateServer(api.admin, "keyed", { legacySse: true });
    key = (await api.admin.post("servers/keyed/keys", { name: "legacy-client" })).body.key;
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await api?.close();
  });

  it("initializes, lists and calls tools through the official SDK's SSEClientTransport", async () => {
    const client = await connected(`${api.url}/everything/sse`);
    expect(client.getServerVersion()).toMatchObject({ name: "everything", version: "1.0.0" });
    expect(client.getServerCapabilities()?.tools).toBeDefined();
    const tools = await client.listTools();
    expect(tools.tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(["test_simple_text", "test_sampling"]));
    const result = await client.callTool({ name: "test_simple_text", arguments: {} });
    expect(textOf(result)).toBe("This is a simple text response for testing.");
    await client.ping();
  });

  it("sends method errors on the stream, as JSON-RPC errors of the request", async () => {
    const client = await connected(`${api.url}/everything/sse`);
    await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toMatchObject({ code: -32602 });
    await expect(client.request({ method: "no/such/method" }, EmptyResultSchema)).rejects.toMatchObject({
      code: -32601,
    });
    const failed = await client.callTool({ name: "test_error_handling", arguments: {} });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/intentionally returns an error/);
    // Arguments checked against the manifest before the isolate: a tool error the model can read.
    const invalid = await client.callTool({ name: "test_sampling", arguments: { prompt: 42 } });
    expect(invalid.isError).toBe(true);
  });

  it("sends what tool code asks of the client on the stream: progress, logs, sampling and elicitation", async () => {
    const client = await connected(`${api.url}/everything/sse`);
    const seen = received(client);
    const progressed = await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, {
      onprogress: () => {},
    });
    expect(textOf(progressed)).toBe("Progress test completed");
    expect(progressOf(seen)).toEqual({ values: [0, 50, 100], beforeResponse: true });

    const lines: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      lines.push(String(notification.params.data));
    });
    await client.setLoggingLevel("info");
    await client.callTool({ name: "test_tool_with_logging", arguments: {} });
    expect(lines).toEqual(["Tool execution started", "Tool processing data", "Tool execution completed"]);

    const prompts: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const content = request.params.messages[0]?.content as { text?: string };
      prompts.push(String(content.text));
      return { model: "test-model", role: "assistant", content: { type: "text", text: "forty-two" } };
    });
    const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "the answer?" } });
    expect(textOf(sampled)).toBe("LLM response: forty-two");
    expect(prompts).toEqual(["the answer?"]);

    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { username: "ada", email: "ada@example.com" },
    }));
    const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "who are you?" } });
    expect(textOf(elicited)).toBe('User response: action=accept, content={"username":"ada","email":"ada@example.com"}');
  });

  it("names the messages URL in its first event, accepts POSTs with 202 and answers a 2024-11-05 client in its version", async () => {
    const stream = await openStream(`${api.url}/everything/sse`);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const endpoint = await stream.next();
    expect(endpoint?.event).toBe("endpoint");
    expect(endpoint?.data).toMatch(/^\/everything\/messages\?sessionId=[A-Za-z0-9_-]{32}$/);
    const messages = `${api.url}${endpoint?.data}`;

    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "old", version: "0.1" } },
    };
    const accepted = await send(messages, { body: initialize, headers: { accept: "*/*" } });
    expect(accepted.status).toBe(202);
    const answer = await stream.next();
    expect(answer?.event).toBe("message");
    expect(JSON.parse(answer?.data ?? "")).toMatchObject({ id: 1, result: { protocolVersion: "2024-11-05" } });

    // Once initialized, not again on the same stream.
    const again = await send(messages, { body: { ...initialize, id: 2 } });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ jsonrpc: "2.0", id: 2, error: { code: -32600 } });
    stream.close();
  });

  it("refuses missing, unknown and ended sessions, batches, and requests before initialize", async () => {
    const hello = { jsonrpc: "2.0", id: 1, method: "tools/list" };
    const missing = await send(`${api.url}/everything/messages`, { body: hello });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/sessionId/);
    for (const id of ["unknown", "x".repeat(32), "../../etc", "a".repeat(500)]) {
      const unknown = await send(`${api.url}/everything/messages?sessionId=${encodeURIComponent(id)}`, { body: hello });
      expect(unknown.status, id).toBe(404);
      expect(unknown.json, id).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: /session not found/ } });
    }

    const stream = await openStream(`${api.url}/everything/sse`);
    const messages = `${api.url}${(await stream.next())?.data}`;
    const early = await send(messages, { body: hello });
    expect(early.status).toBe(400);
    expect(early.json).toMatchObject({ id: 1, error: { message: /initialize/ } });
    const batch = await send(messages, { body: [hello, { ...hello, id: 2 }] });
    expect(batch.status).toBe(400);
    expect(batch.json.error.code).toBe(-32600);
    const notJson = await send(messages, { body: "{", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe(-32700);

    // The client goes away: the stream closes, and its session with it, on every node.
    stream.close();
    await eventually(async () => ((await send(messages, { body: hello })).status === 404 ? true : undefined));
  });

  it("is off unless the server switches it on: both routes answer 404 with JSON", async () => {
    const get = await send(`${api.url}/plain/sse`, { method: "GET", headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(404);
    expect(get.contentType).toMatch(/^application\/json/);
    expect(get.json.error.message).toMatch(/legacy HTTP\+SSE/);
    const post = await send(`${api.url}/plain/messages?sessionId=abc`, {
      body: { jsonrpc: "2.0", id: 1, method: "ping" },
    });
    expect(post.status).toBe(404);
    expect(post.json.error.message).toMatch(/legacy HTTP\+SSE/);
    const unknown = await send(`${api.url}/nowhere/sse`, { method: "GET", headers: { accept: "text/event-stream" } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toBe("no such server");

    // Switched off while a stream is open: the stream ends, and new ones are refused.
    await deploySource(api.admin, "toggled", HELLO_SOURCE);
    await updateServer(api.admin, "toggled", { legacySse: true });
    const stream = await openStream(`${api.url}/toggled/sse`);
    expect((await stream.next())?.event).toBe("endpoint");
    await updateServer(api.admin, "toggled", { legacySse: false });
    expect(await stream.next()).toBeUndefined();
    const after = await send(`${api.url}/toggled/sse`, { method: "GET", headers: { accept: "text/event-stream" } });
    expect(after.status).toBe(404);
  });

  it("serves host-routed /sse and /messages for a server's custom domain", async () => {
    await updateServer(api.admin, "everything", { customDomain: "everything.customer.example" });
    await updateServer(api.admin, "plain", { customDomain: "plain.customer.example" });
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    const unknownSession = await inject(api.app, "/messages?sessionId=nope", {
      body: ping,
      headers: { host: "everything.customer.example" },
    });
    expect(unknownSession.status).toBe(404);
    expect(unknownSession.json.error.message).toMatch(/session not found/);
    const switchedOff = await inject(api.app, "/sse", {
      method: "GET",
      headers: { host: "plain.customer.example", accept: "text/event-stream" },
    });
    expect(switchedOff.status).toBe(404);
    expect(switchedOff.json.error.message).toMatch(/legacy HTTP\+SSE/);
    const nobody = await inject(api.app, "/sse", {
      method: "GET",
      headers: { host: "nobody.customer.example", accept: "text/event-stream" },
    });
    expect(nobody.status).toBe(404);
    expect(nobody.json.error.message).toBe("no such server");
  });

  it("asks an api_key server's callers for a key, on the stream and on every message", async () => {
    const url = `${api.url}/keyed/sse`;
    const refused = await send(url, { method: "GET", headers: { accept: "text/event-stream" } });
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(refused.json).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: /API key/ } });
    await expect(connect(url)).rejects.toMatchObject({ code: 401 });
    await expect(connect(url, { requestInit: { headers: { "x-api-key": "isola_key_wrong" } } })).rejects.toMatchObject({
      code: 401,
    });

    const client = await connected(url, { requestInit: { headers: { authorization: `Bearer ${key}` } } });
    expect(textOf(await client.callTool({ name: "hello", arguments: { name: "Ada" } }))).toBe("Hello, Ada!");

    // A stream opened with the key: a POST without it is refused, and one with another key finds no session.
    const stream = await openStream(url, { "x-api-key": key });
    const messages = `${api.url}${(await stream.next())?.data}`;
    const ping = { jsonrpc: "2.0", id: 1, method: "ping" };
    expect((await send(messages, { body: ping })).status).toBe(401);
    const other = (await api.admin.post("servers/keyed/keys", { name: "someone-else" })).body.key;
    const foreign = await send(messages, { body: ping, headers: { "x-api-key": other } });
    expect(foreign.status).toBe(404);
    stream.close();
  });

  it("holds its messages to the caller's rate limit (429) and browsers to the allowed origins (403)", async () => {
    const limited = (await api.admin.post("servers/keyed/keys", { name: "slow", rateLimitPerMinute: 2 })).body.key;
    const stream = await openStream(`${api.url}/keyed/sse`, { "x-api-key": limited });
    const messages = `${api.url}${(await stream.next())?.data}`;
    const headers = { "x-api-key": limited };
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "old", version: "0.1" } },
    };
    expect((await send(messages, { body: initialize, headers })).status).toBe(202);
    expect((await send(messages, { body: { jsonrpc: "2.0", id: 2, method: "tools/list" }, headers })).status).toBe(202);
    const over = await send(messages, { body: { jsonrpc: "2.0", id: 3, method: "tools/list" }, headers });
    expect(over.status).toBe(429);
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect(over.json).toMatchObject({ jsonrpc: "2.0", id: 3, error: { code: -32000, message: /rate limit/ } });
    // The two requests that were accepted were answered on the stream, and nothing for the refused one.
    const answered = [await stream.next(), await stream.next()].map((event) => JSON.parse(event?.data ?? "{}").id);
    expect(answered).toEqual([1, 2]);
    stream.close();

    const evil = { origin: "https://evil.example", accept: "text/event-stream" };
    const get = await send(`${api.url}/everything/sse`, { method: "GET", headers: evil });
    expect(get.status).toBe(403);
    expect(get.json.error.message).toMatch(/origin/);
    const post = await send(`${api.url}/everything/messages?sessionId=x`, {
      body: { jsonrpc: "2.0", id: 1, method: "ping" },
      headers: { origin: "https://evil.example" },
    });
    expect(post.status).toBe(403);
  });

  it("writes one access-log line per request: server, method, status, caller", async () => {
    const lines = api.logs
      .map((line) => JSON.parse(line) as { msg?: string; access?: Record<string, unknown> })
      .filter((line) => line.msg === "mcp request" && line.access?.server === "everything")
      .map((line) => line.access);
    expect(lines).toContainEqual(expect.objectContaining({ rpc: "legacy-stream", status: 200, caller: "anonymous" }));
    expect(lines).toContainEqual(expect.objectContaining({ rpc: "tools/call", status: 202, caller: "anonymous" }));
    expect(lines).toContainEqual(expect.objectContaining({ rpc: "initialize", status: 202 }));
  });

  describe("on two nodes sharing one Redis", () => {
    let redis: RedisServer | undefined;
    const buses: Bus[] = [];
    let nodeA: Awaited<ReturnType<typeof startRuntimeNode>>;
    let nodeB: Awaited<ReturnType<typeof startRuntimeNode>>;

    // Two runtime nodes over the database of `api`, each with a Redis connection of its own. The
    // control plane of `api` announces on its own bus: the nodes read "everything" fresh from the database.
    beforeAll(async () => {
      if (!process.env.REDIS_URL) redis = await RedisServer.start();
      const url = process.env.REDIS_URL ?? (redis as RedisServer).url;
      // Two connections to one key space: what two processes of a fleet share.
      const prefix = `test:${randomBytes(6).toString("hex")}:`;
      for (let node = 0; node < 2; node++) buses.push(await RedisBus.connect({ url, prefix }));
      nodeA = await startRuntimeNode(api, buses[0] as Bus);
      nodeB = await startRuntimeNode(api, buses[1] as Bus);
    }, 120_000);
    let closedA = false;
    afterAll(async () => {
      if (!closedA) await nodeA?.close();
      await nodeB?.close();
      for (const bus of buses) await bus.close();
      await redis?.stop();
    });

    it("serves a session whose stream is on one node and whose messages land on the other", async () => {
      // The stream on A; requests and notifications POSTed to B, the client's answers to A.
      const routed: string[] = [];
      const split: FetchLike = async (input, init = {}) => {
        let target = String(input);
        if (init.method === "POST" && typeof init.body === "string") {
          const message = JSON.parse(init.body) as { method?: string; id?: unknown };
          if (message.method !== undefined) target = target.replace(nodeA.url, nodeB.url);
          routed.push(`${target.startsWith(nodeB.url) ? "B" : "A"} ${message.method ?? "response"}`);
        }
        return fetch(target, init);
      };
      const client = await connect(`${nodeA.url}/everything/sse`, { fetch: split });
      const errors: Error[] = [];
      client.onerror = (error) => errors.push(error);
      try {
        expect(client.getServerVersion()?.name).toBe("everything");
        expect(textOf(await client.callTool({ name: "test_simple_text", arguments: {} }))).toBe(
          "This is a simple text response for testing.",
        );
        const seen = received(client);
        await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, { onprogress: () => {} });
        expect(progressOf(seen)).toEqual({ values: [0, 50, 100], beforeResponse: true });
        // B runs the tool; its sampling request goes out on A's stream; the answer, POSTed to A, reaches B.
        client.setRequestHandler(CreateMessageRequestSchema, async () => ({
          model: "test-model",
          role: "assistant",
          content: { type: "text", text: "from node A" },
        }));
        expect(textOf(await client.callTool({ name: "test_sampling", arguments: { prompt: "hi" } }))).toBe(
          "LLM response: from node A",
        );
        expect(routed).toEqual([
          "B initialize",
          "B notifications/initialized",
          "B tools/call",
          "B tools/call",
          "B tools/call",
          "A response",
        ]);

        // Closing a node with an open stream does not wait for the client: the stream ends.
        const started = performance.now();
        closedA = true;
        await nodeA.close();
        expect(performance.now() - started).toBeLessThan(5000);
        await eventually(() => (errors.length > 0 ? true : undefined));
      } finally {
        await client.close();
      }
    }, 60_000);
  });
});
