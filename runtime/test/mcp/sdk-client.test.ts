import { randomBytes } from "node:crypto";
import { SERVER_LOG, serverLogKey } from "@isola/schema";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { busBackends } from "../support/backends.ts";
import {
  ACCEPT_BOTH,
  deploySource,
  EVERYTHING_SOURCE,
  messagesOf,
  openSession,
  PROBE_SOURCE,
  parseSse,
  quickDatabase,
  type SseEvent,
  send,
  startTwoRuntimeNodes,
} from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";

// The official SDK client (StreamableHTTPClientTransport) against examples/everything on the
// embedded stack, over a real socket. Where the SDK hides what is on the wire (priming events,
// resumption), raw fetch looks at it.

interface Sent {
  method: string;
  rpc: string | undefined;
  status: number;
  contentType: string;
  protocolHeader: string | null;
}

/** A fetch that records what went out and came back, optionally rewriting a request first. */
function recordingFetch(sent: Sent[], rewrite?: (url: string, init: RequestInit) => [string, RequestInit]): FetchLike {
  return async (input, init = {}) => {
    let [url, options] = [String(input), init];
    if (rewrite) [url, options] = rewrite(url, options);
    const response = await fetch(url, options);
    const body = typeof options.body === "string" ? (JSON.parse(options.body) as Record<string, unknown>) : undefined;
    sent.push({
      method: options.method ?? "GET",
      rpc: body ? String(body.method ?? "response") : undefined,
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      protocolHeader: new Headers(options.headers).get("mcp-protocol-version"),
    });
    return response;
  };
}

/** Rewrites initialize's protocolVersion, as a client of an older revision would send it. */
const asVersion =
  (version: string) =>
  (url: string, init: RequestInit): [string, RequestInit] => {
    if (typeof init.body !== "string") return [url, init];
    const message = JSON.parse(init.body);
    if (message.method !== "initialize") return [url, init];
    message.params.protocolVersion = version;
    return [url, { ...init, body: JSON.stringify(message) }];
  };

async function connect(
  url: string,
  fetch?: FetchLike,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: "sdk-test", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), fetch ? { fetch } : {});
  await client.connect(transport);
  return { client, transport };
}

const textOf = (result: unknown) => (result as { content: { type: string; text: string }[] }).content[0]?.text;

describe("the official SDK client against examples/everything", () => {
  let api: Api;
  let url: string;
  let probeUrl: string;
  const clients: Client[] = [];
  const connected = async (target: string, fetch?: FetchLike) => {
    const connection = await connect(target, fetch);
    clients.push(connection.client);
    return connection;
  };

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    await deploySource(api.admin, "everything", EVERYTHING_SOURCE);
    await deploySource(api.admin, "probe", PROBE_SOURCE);
    url = `${api.url}/everything/mcp`;
    probeUrl = `${api.url}/probe/mcp`;
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await api?.close();
  });

  describe("responses", () => {
    it("answers with plain JSON when a call sends nothing before its result", async () => {
      const sent: Sent[] = [];
      const { client } = await connected(url, recordingFetch(sent));
      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name)).toContain("test_simple_text");
      const result = await client.callTool({ name: "test_simple_text", arguments: {} });
      expect(textOf(result)).toBe("This is a simple text response for testing.");
      const calls = sent.filter((entry) => entry.rpc === "tools/call" || entry.rpc === "tools/list");
      expect(calls.map((entry) => [entry.status, entry.contentType])).toEqual([
        [200, "application/json; charset=utf-8"],
        [200, "application/json; charset=utf-8"],
      ]);
    });

    it("streams SSE when a tool reports progress first, and delivers every notification", async () => {
      const sent: Sent[] = [];
      const { client } = await connected(url, recordingFetch(sent));
      const progress: number[] = [];
      const result = await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, {
        onprogress: (update) => progress.push(update.progress),
      });
      expect(textOf(result)).toBe("Progress test completed");
      expect(progress).toEqual([0, 50, 100]);
      expect(sent.find((entry) => entry.rpc === "tools/call")?.contentType).toBe("text/event-stream");
    });

    it("streams SSE when a tool logs, at the level the client set", async () => {
      const sent: Sent[] = [];
      const { client } = await connected(url, recordingFetch(sent));
      const lines: string[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        lines.push(String(notification.params.data));
      });
      const result = await client.callTool({ name: "test_tool_with_logging", arguments: {} });
      expect(textOf(result)).toBe("Tool with logging executed successfully");
      expect(lines).toEqual(["Tool execution started", "Tool processing data", "Tool execution completed"]);
      // Above the tool's level: nothing is sent, and the answer is plain JSON again.
      await client.setLoggingLevel("error");
      lines.length = 0;
      await client.callTool({ name: "test_tool_with_logging", arguments: {} });
      expect(lines).toEqual([]);
      const calls = sent.filter((entry) => entry.rpc === "tools/call");
      expect(calls.map((entry) => entry.contentType)).toEqual(["text/event-stream", "application/json; charset=utf-8"]);
    });

    it("answers an unknown tool with a -32602 protocol error, not a tool result", async () => {
      const { client } = await connected(url);
      await expect(client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toMatchObject({ code: -32602 });
    });
  });

  describe("sessions", () => {
    it("issues an Mcp-Session-Id, requires it after initialize, and ends it with DELETE", async () => {
      const { client, transport } = await connected(url);
      const sessionId = transport.sessionId as string;
      expect(sessionId).toMatch(/^[\x21-\x7e]{16,}$/);
      const listTools = { jsonrpc: "2.0", id: 7, method: "tools/list" };
      const protocol = { "mcp-protocol-version": "2025-11-25" };

      const without = await send(url, { body: listTools, headers: protocol });
      expect(without.status).toBe(400);
      expect(without.json.error.message).toMatch(/Mcp-Session-Id/);
      const unknown = await send(url, { body: listTools, headers: { ...protocol, "mcp-session-id": "x".repeat(32) } });
      expect(unknown.status).toBe(404);
      const valid = await send(url, { body: listTools, headers: { ...protocol, "mcp-session-id": sessionId } });
      expect(valid.status).toBe(200);
      expect(valid.json.result.tools.length).toBeGreaterThan(5);

      await transport.terminateSession();
      expect(transport.sessionId).toBeUndefined();
      const after = await send(url, { body: listTools, headers: { ...protocol, "mcp-session-id": sessionId } });
      expect(after.status).toBe(404);
      expect(after.json.error.message).toMatch(/initialize/);
      const deletedAgain = await send(url, { method: "DELETE", headers: { "mcp-session-id": sessionId } });
      expect(deletedAgain.status).toBe(404);
      await client.close();
    });

    it("lets the SDK notice a session ended by the server (404) and initialize a new one", async () => {
      const { client, transport } = await connected(url);
      const first = transport.sessionId as string;
      expect((await send(url, { method: "DELETE", headers: { "mcp-session-id": first } })).status).toBe(200);
      await expect(client.listTools()).rejects.toMatchObject({ code: 404 });
      await client.close();

      const again = await connected(url);
      expect(again.transport.sessionId).toBeDefined();
      expect(again.transport.sessionId).not.toBe(first);
      expect((await again.client.listTools()).tools.length).toBeGreaterThan(5);
    });
  });

  describe("protocol versions", () => {
    it.each(["2025-11-25", "2025-06-18", "2025-03-26"])("negotiates %s with the SDK client", async (version) => {
      const sent: Sent[] = [];
      const { client, transport } = await connected(url, recordingFetch(sent, asVersion(version)));
      expect(transport.protocolVersion).toBe(version);
      const progress: number[] = [];
      const result = await client.callTool({ name: "test_tool_with_progress", arguments: {} }, undefined, {
        onprogress: (update) => progress.push(update.progress),
      });
      expect(textOf(result)).toBe("Progress test completed");
      expect(progress).toEqual([0, 50, 100]);
      // Every request after initialize carried the negotiated version.
      const later = sent.filter((entry) => entry.method === "POST" && entry.rpc !== "initialize");
      expect(later.length).toBeGreaterThan(1);
      for (const entry of later) expect(entry.protocolHeader).toBe(version);
    });

    it.each([
      ["2025-11-25", true],
      ["2025-06-18", false],
      ["2025-03-26", false],
    ])("primes an SSE stream with an empty event for %s clients: %s", async (version, primed) => {
      const { headers } = await openSession(url, { protocolVersion: version });
      const answer = await send(url, {
        body: {
          jsonrpc: "2.0",
          id: 3,
          method: "tools/call",
          params: { name: "test_tool_with_progress", arguments: {}, _meta: { progressToken: "p" } },
        },
        headers,
      });
      expect(answer.contentType).toBe("text/event-stream");
      expect(answer.events[0]?.data === "").toBe(primed);
      for (const event of answer.events) expect(event.id).toMatch(/^[\w-]+:\d+-\d+$/);
      const messages = messagesOf(answer.events);
      expect(messages.map((message) => message.method ?? "result")).toEqual([
        "notifications/progress",
        "notifications/progress",
        "notifications/progress",
        "result",
      ]);
    });

    it("offers its latest version to a client asking for one it does not support", async () => {
      const answer = await send(url, {
        body: {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2024-01-01", capabilities: {}, clientInfo: { name: "old", version: "0" } },
        },
      });
      expect(answer.status).toBe(200);
      expect(answer.json.result.protocolVersion).toBe("2025-11-25");
    });

    it("takes requests without an MCP-Protocol-Version header (2025-03-26 clients send none)", async () => {
      const { headers } = await openSession(url, { protocolVersion: "2025-03-26" });
      const { "mcp-protocol-version": _omitted, ...noVersion } = headers;
      const answer = await send(url, { body: { jsonrpc: "2.0", id: 2, method: "ping" }, headers: noVersion });
      expect(answer.status).toBe(200);
    });

    it.each(["2024-11-05", "2099-01-01", "latest", ""])(
      "refuses an unsupported MCP-Protocol-Version header %j with 400",
      async (bad) => {
        const { headers } = await openSession(url);
        const answer = await send(url, {
          body: { jsonrpc: "2.0", id: 2, method: "tools/list" },
          headers: { ...headers, "mcp-protocol-version": bad },
        });
        expect(answer.status).toBe(400);
        expect(answer.json.error.message).toMatch(/MCP-Protocol-Version/);
      },
    );
  });

  describe("resumption", () => {
    const progressCall = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "test_tool_with_progress", arguments: {}, _meta: { progressToken: `resume-${id}` } },
    });

    /** POSTs a call and reads its SSE stream until `enough` events came, then drops the connection. */
    async function dropMidStream(
      headers: Record<string, string>,
      id: number,
      enough: number,
      target = { url, call: progressCall(id) as unknown },
    ): Promise<SseEvent[]> {
      const controller = new AbortController();
      const response = await fetch(target.url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json", accept: ACCEPT_BOTH },
        body: JSON.stringify(target.call),
        signal: controller.signal,
      });
      expect(response.headers.get("content-type")).toBe("text/event-stream");
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = "";
      while (parseSse(text.slice(0, text.lastIndexOf("\n\n") + 2)).length < enough) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended before the test dropped it");
        text += decoder.decode(value, { stream: true });
      }
      controller.abort();
      return parseSse(text.slice(0, text.lastIndexOf("\n\n") + 2));
    }

    const resume = (headers: Record<string, string>, lastEventId: string, target = url) =>
      send(target, {
        method: "GET",
        headers: { ...headers, accept: "text/event-stream", "last-event-id": lastEventId },
      });

    it("replays the rest of a dropped stream after Last-Event-ID, without duplicates", async () => {
      const { headers } = await openSession(url);
      // The priming event and the first progress notification, then the connection drops.
      const before = await dropMidStream(headers, 11, 2);
      expect(before[0]?.data).toBe("");
      expect(messagesOf(before).map((message) => (message.params as { progress: number }).progress)).toEqual([0]);
      const last = before.at(-1)?.id as string;

      const resumed = await resume(headers, last);
      expect(resumed.status).toBe(200);
      expect(resumed.contentType).toBe("text/event-stream");
      const all = [...before, ...resumed.events];
      const ids = all.map((event) => event.id);
      expect(new Set(ids).size).toBe(ids.length);
      const messages = messagesOf(all);
      expect(messages.map((message) => (message.params as { progress?: number } | undefined)?.progress)).toEqual([
        0,
        50,
        100,
        undefined,
      ]);
      expect(messages.at(-1)).toMatchObject({ id: 11, result: { content: [{ text: "Progress test completed" }] } });
    });

    it("follows a stream whose call is still running, live, until its response", async () => {
      const { headers } = await openSession(probeUrl);
      const call = {
        jsonrpc: "2.0",
        id: 14,
        method: "tools/call",
        params: { name: "count_slowly", arguments: { to: 4 }, _meta: { progressToken: "slow" } },
      };
      const before = await dropMidStream(headers, 14, 2, { url: probeUrl, call });
      const started = Date.now();
      const resumed = await resume(headers, before.at(-1)?.id as string, probeUrl);
      // Three more progress steps, 200 ms apart, came while the GET was open.
      expect(Date.now() - started).toBeGreaterThan(400);
      const messages = messagesOf([...before, ...resumed.events]);
      expect(messages.map((message) => (message.params as { progress?: number } | undefined)?.progress)).toEqual([
        1,
        2,
        3,
        4,
        undefined,
      ]);
      expect(messages.at(-1)).toMatchObject({ id: 14, result: { content: [{ text: "counted to 4" }] } });
    });

    it("replays everything from the priming event, and nothing after the response", async () => {
      const { headers } = await openSession(url);
      const before = await dropMidStream(headers, 12, 1);
      const priming = before[0]?.id as string;
      const resumed = await resume(headers, priming);
      expect(messagesOf(resumed.events)).toHaveLength(4);
      const final = resumed.events.at(-1)?.id as string;
      const started = Date.now();
      const afterEnd = await resume(headers, final);
      expect(afterEnd.status).toBe(200);
      expect(afterEnd.events).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it("refuses ids it never sent or that belong to another session", async () => {
      const first = await openSession(url);
      const second = await openSession(url);
      const events = await dropMidStream(first.headers, 13, 1);
      const id = events[0]?.id as string;
      const [stream] = id.split(":");
      for (const [headers, lastEventId] of [
        [second.headers, id],
        [first.headers, `${stream}:1-0`],
        [first.headers, `nostream:${id.split(":")[1]}`],
        [first.headers, "garbage"],
      ] as const) {
        const answer = await resume(headers, lastEventId);
        expect(answer.status, lastEventId).toBe(400);
        expect(answer.json.error.code).toBe(-32000);
      }
    });
  });

  describe("cancellation", () => {
    async function abortedLines(serverSlug: string): Promise<string[]> {
      const server = await api.admin.get(`servers/${serverSlug}`);
      const entries = await api.stores.bus.readAfter(serverLogKey(server.body.id), undefined, SERVER_LOG.maxLength);
      return entries
        .map((entry) => (JSON.parse(entry.value) as { message: string }).message)
        .filter((message) => message.startsWith("aborted"));
    }

    it("aborts the slow tool's ctx.signal when the SDK cancels the request", async () => {
      const { client } = await connected(probeUrl);
      const label = randomBytes(4).toString("hex");
      const controller = new AbortController();
      const started = Date.now();
      const call = client.callTool({ name: "wait_for_cancel", arguments: { label } }, undefined, {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort("the user gave up"), 300);
      await expect(call).rejects.toThrow();
      const lines = await eventually(async () => {
        const found = (await abortedLines("probe")).filter((line) => line === `aborted ${label}`);
        return found.length > 0 ? found : undefined;
      });
      expect(lines).toEqual([`aborted ${label}`]);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("ends the cancelled request's HTTP answer at once (cancel POSTed on another connection)", async () => {
      const { headers } = await openSession(probeUrl);
      const label = randomBytes(4).toString("hex");
      const started = Date.now();
      const call = send(probeUrl, {
        body: {
          jsonrpc: "2.0",
          id: "slow-1",
          method: "tools/call",
          params: { name: "wait_for_cancel", arguments: { label } },
        },
        headers,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const cancelled = await send(probeUrl, {
        body: { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "slow-1", reason: "test" } },
        headers,
      });
      expect(cancelled.status).toBe(202);
      const answer = await call;
      expect(Date.now() - started).toBeLessThan(5000);
      const final = answer.json ?? messagesOf(answer.events).at(-1);
      expect(final).toMatchObject({ id: "slow-1", error: { code: -32000 } });
      await eventually(async () => ((await abortedLines("probe")).includes(`aborted ${label}`) ? true : undefined));
    });

    it("ignores a cancel for a request of another session", async () => {
      const owner = await openSession(probeUrl);
      const stranger = await openSession(probeUrl);
      const label = randomBytes(4).toString("hex");
      const controller = new AbortController();
      const call = send(probeUrl, {
        body: {
          jsonrpc: "2.0",
          id: "slow-2",
          method: "tools/call",
          params: { name: "wait_for_cancel", arguments: { label } },
        },
        headers: owner.headers,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await send(probeUrl, {
        body: { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "slow-2" } },
        headers: stranger.headers,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await abortedLines("probe")).not.toContain(`aborted ${label}`);
      // Clean up: the owner cancels it.
      await send(probeUrl, {
        body: { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "slow-2" } },
        headers: owner.headers,
      });
      await call;
      controller.abort();
    });
  });

  describe("sampling and elicitation", () => {
    it("round-trips a sampling request and an elicitation through the SDK client", async () => {
      const { client } = await connected(url);
      client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        const text = (request.params.messages[0] as { content: { text: string } }).content.text;
        return { role: "assistant", content: { type: "text", text: `echo: ${text}` }, model: "test-model" };
      });
      client.setRequestHandler(ElicitRequestSchema, async () => ({
        action: "accept",
        content: { username: "ada", email: "ada@example.com" },
      }));
      const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "hello" } });
      expect(textOf(sampled)).toBe("LLM response: echo: hello");
      const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "who?" } });
      expect(textOf(elicited)).toBe(
        'User response: action=accept, content={"username":"ada","email":"ada@example.com"}',
      );
    });
  });

  // Two runtime nodes of one instance (one database, one Bus): the client talks to node A and
  // POSTs its answers to node B, as a load balancer without stickiness would send them. On Redis
  // when REDIS_URL is set (two connections, as two processes), else on one shared in-process bus.
  const sharedBus = (busBackends().at(-1) as { name: "memory" | "redis" }).name;
  describe(`a session continued on another node (${sharedBus} bus)`, () => {
    let nodes: Awaited<ReturnType<typeof startTwoRuntimeNodes>>;
    let nodeA: (typeof nodes)["a"];
    let nodeB: (typeof nodes)["b"];

    beforeAll(async () => {
      nodes = await startTwoRuntimeNodes(api);
      ({ a: nodeA, b: nodeB } = nodes);
    }, 120_000);
    afterAll(async () => {
      await nodes?.close();
    });

    /** Sends what the client POSTs in answer to the server (responses), or also everything else, to node B. */
    function splitFetch(routed: string[], what: "responses" | "after-initialize"): FetchLike {
      return async (input, init = {}) => {
        let target = String(input);
        const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
        const isResponse = body !== undefined && !("method" in body);
        const afterInitialize = init.method === "DELETE" || (body !== undefined && body.method !== "initialize");
        if (what === "responses" ? isResponse : afterInitialize) {
          target = target.replace(nodeA.url, nodeB.url);
          routed.push(body ? String(body.method ?? `response ${body.id}`) : String(init.method));
        }
        return fetch(target, init);
      };
    }

    it("delivers sampling and elicitation answers POSTed to node B to the call waiting on node A", async () => {
      const routed: string[] = [];
      const { client } = await connected(`${nodeA.url}/everything/mcp`, splitFetch(routed, "responses"));
      client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        const text = (request.params.messages[0] as { content: { text: string } }).content.text;
        return { role: "assistant", content: { type: "text", text: `from B: ${text}` }, model: "test-model" };
      });
      client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "decline" }));
      const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "across" } });
      expect(textOf(sampled)).toBe("LLM response: from B: across");
      const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "?" } });
      expect(textOf(elicited)).toBe("User response: action=decline, content={}");
      expect(routed).toHaveLength(2);
      expect(routed.every((entry) => entry.startsWith("response isola-"))).toBe(true);
    });

    it("continues a session on node B and ends it there for node A too", async () => {
      const routed: string[] = [];
      const { client, transport } = await connected(
        `${nodeA.url}/everything/mcp`,
        splitFetch(routed, "after-initialize"),
      );
      const result = await client.callTool({ name: "test_simple_text", arguments: {} });
      expect(textOf(result)).toBe("This is a simple text response for testing.");
      expect(routed).toContain("tools/call");
      const sessionId = transport.sessionId as string;
      await transport.terminateSession();
      expect(routed).toContain("DELETE");
      const onA = await send(`${nodeA.url}/everything/mcp`, {
        body: { jsonrpc: "2.0", id: 1, method: "ping" },
        headers: { "mcp-session-id": sessionId },
      });
      expect(onA.status).toBe(404);
      await client.close();
    });

    it("cancels a call running on node A from a notification POSTed to node B", async () => {
      const { headers } = await openSession(`${nodeA.url}/probe/mcp`);
      const started = Date.now();
      const call = send(`${nodeA.url}/probe/mcp`, {
        body: {
          jsonrpc: "2.0",
          id: 5,
          method: "tools/call",
          params: { name: "wait_for_cancel", arguments: { label: "x" } },
        },
        headers,
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const cancelled = await send(`${nodeB.url}/probe/mcp`, {
        body: { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 5, reason: "from B" } },
        headers,
      });
      expect(cancelled.status).toBe(202);
      const answer = await call;
      expect(answer.json ?? messagesOf(answer.events).at(-1)).toMatchObject({ id: 5, error: { code: -32000 } });
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("resumes on node B a stream that node A was sending", async () => {
      const { headers } = await openSession(`${nodeA.url}/everything/mcp`);
      const answer = await send(`${nodeA.url}/everything/mcp`, {
        body: {
          jsonrpc: "2.0",
          id: 9,
          method: "tools/call",
          params: { name: "test_tool_with_progress", arguments: {}, _meta: { progressToken: 1 } },
        },
        headers,
      });
      const resumed = await send(`${nodeB.url}/everything/mcp`, {
        method: "GET",
        headers: { ...headers, accept: "text/event-stream", "last-event-id": answer.events[1]?.id as string },
      });
      expect(resumed.events.map((event) => event.id)).toEqual(answer.events.slice(2).map((event) => event.id));
    });
  });
});
