import { randomBytes } from "node:crypto";
import { createControlClient } from "@isola/web";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestIdOf, sessionRef } from "../../src/observe/request-id.ts";
import { type Api, startApi } from "../support/api-harness.ts";
import { busBackends } from "../support/backends.ts";
import {
  deploySource,
  EVERYTHING_SOURCE,
  initializeRequest,
  inject,
  quickDatabase,
  startTwoRuntimeNodes,
} from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";

// Every request has an id: a well-formed X-Request-Id is honoured, anything else replaced by a
// UUID; the response says it (X-Request-Id) and the request's log lines carry it. Work that
// crosses to another node takes it along: a client's answer relayed over the Bus, a web node's
// call to control.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const parsedLogs = (logs: string[]) => logs.map((line) => JSON.parse(line) as Record<string, unknown>);

describe("requestIdOf", () => {
  it.each([
    "b3c1a2f4-5d6e-4f70-8a9b-0c1d2e3f4a5b",
    "01J9ZK3Q4W5E6R7T8Y9U0I1O2P",
    "abc123",
    "fly-req_0a1b:2c3d.4e5f",
    "dGhpcyBpcyBhbiBpZA==",
    "x".repeat(128),
  ])("honours %s", (id) => {
    expect(requestIdOf(id)).toBe(id);
  });

  it.each([
    ["too long", "x".repeat(129)],
    ["empty", ""],
    ["a space", "abc def"],
    ["a newline (a forged log line)", 'abc\n{"level":60}'],
    ["a quote", 'abc"def'],
    ["a semicolon", "Root=1-abc;Parent=def"],
    ["non-ASCII", "idé"],
  ])("replaces one with %s by a UUID", (_why, id) => {
    expect(requestIdOf(id)).toMatch(UUID);
  });

  it("replaces a repeated header, and makes one when there is none, each time a new one", () => {
    expect(requestIdOf(["a", "b"])).toMatch(UUID);
    expect(requestIdOf(undefined)).toMatch(UUID);
    expect(requestIdOf(undefined)).not.toBe(requestIdOf(undefined));
  });
});

// One instance for both suites: the control and runtime node the others join.
let api: Api;
beforeAll(async () => {
  api = await startApi(quickDatabase(), {}, { listen: true });
  await deploySource(api.admin, "everything", EVERYTHING_SOURCE);
}, 120_000);
afterAll(async () => {
  await api?.close();
});

describe("request ids on one node", () => {
  it("echoes a well-formed X-Request-Id and logs the request's lines under it", async () => {
    const id = `req-${randomBytes(6).toString("hex")}`;
    const answer = await inject(api.app, "/everything/mcp", {
      body: JSON.stringify(initializeRequest()),
      headers: { "x-request-id": id },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["x-request-id"]).toBe(id);
    const lines = parsedLogs(api.logs).filter((line) => line.reqId === id);
    expect(lines.map((line) => line.msg)).toContain("mcp request");
  });

  it("gives a request without one, or with a malformed one, an id of its own, in the header and the log", async () => {
    for (const sent of [undefined, "bad id with spaces", "y".repeat(200)]) {
      const answer = await api.anonymous.get("/healthz", sent === undefined ? {} : { "x-request-id": sent });
      expect(answer.status).toBe(200);
      const id = String(answer.headers["x-request-id"]);
      expect(id).toMatch(UUID);
      expect(id).not.toBe(sent);
    }
    const answer = await api.admin.get("me", { "x-request-id": "bad\tid" });
    const id = String(answer.headers["x-request-id"]);
    expect(id).toMatch(UUID);
    // Fastify's own lines of a control API request carry it.
    expect(parsedLogs(api.logs).filter((line) => line.reqId === id).length).toBeGreaterThan(0);
    expect(api.logs.join("\n")).not.toContain("bad\\tid");
  });

  it("says the id on a streamed (SSE) answer too", async () => {
    const opened = await inject(api.app, "/everything/mcp", { body: JSON.stringify(initializeRequest()) });
    const answer = await inject(api.app, "/everything/mcp", {
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "test_tool_with_progress", arguments: {}, _meta: { progressToken: 1 } },
      }),
      headers: {
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
        "x-request-id": "streamed-1",
      },
    });
    expect(answer.contentType).toMatch(/^text\/event-stream/);
    expect(answer.headers["x-request-id"]).toBe("streamed-1");
  });
});

describe("request ids across nodes", () => {
  // Two runtime nodes sharing one database and one Bus.
  let nodes: Awaited<ReturnType<typeof startTwoRuntimeNodes>>;
  let nodeA: (typeof nodes)["a"];
  let nodeB: (typeof nodes)["b"];
  const kind = busBackends().at(-1)?.name;

  beforeAll(async () => {
    nodes = await startTwoRuntimeNodes(api);
    ({ a: nodeA, b: nodeB } = nodes);
  }, 120_000);
  afterAll(async () => {
    await nodes?.close();
  });

  it(`logs, on the node running the call, the request id of a sampling answer POSTed to the other node (${kind} bus)`, async () => {
    const answerIds: string[] = [];
    // The client talks to node A; its answers go to node B, as a balancer without stickiness would send them.
    const split: FetchLike = async (input, init = {}) => {
      const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
      if (body === undefined || "method" in body) return fetch(input, init);
      const id = `answer-${randomBytes(6).toString("hex")}`;
      answerIds.push(id);
      const headers = new Headers(init.headers);
      headers.set("x-request-id", id);
      return fetch(String(input).replace(nodeA.url, nodeB.url), { ...init, headers });
    };
    const client = new Client({ name: "request-ids", version: "1.0.0" }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: "assistant",
      content: { type: "text", text: "from B" },
      model: "test-model",
    }));
    const transport = new StreamableHTTPClientTransport(new URL(`${nodeA.url}/everything/mcp`), { fetch: split });
    await client.connect(transport);
    const sessionId = transport.sessionId as string;
    try {
      const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "across" } });
      expect((sampled.content as { text: string }[])[0]?.text).toBe("LLM response: from B");
    } finally {
      await client.close();
    }
    expect(answerIds).toHaveLength(1);
    const [answerId] = answerIds as [string];
    // Node B served the POST under that id; node A, which ran the call, names it when the answer arrives.
    expect(parsedLogs(nodeB.logs).some((line) => line.reqId === answerId && line.msg === "mcp request")).toBe(true);
    const relayed = await eventually(() => parsedLogs(nodeA.logs).find((line) => line.originRequestId === answerId));
    expect(relayed.msg).toBe("client answer relayed from another node");
    expect(parsedLogs(nodeB.logs).some((line) => line.originRequestId === answerId)).toBe(false);

    // Each request has an id of its own; the session's reference ties them together on both nodes.
    type Access = { access?: { rpc?: string; session?: string } };
    const ref = sessionRef(sessionId);
    expect(ref).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const accessA = parsedLogs(nodeA.logs).map((line) => (line as Access).access);
    expect(accessA).toContainEqual(expect.objectContaining({ rpc: "initialize", session: ref }));
    expect(accessA).toContainEqual(expect.objectContaining({ rpc: "tools/call", session: ref }));
    const answered = parsedLogs(nodeB.logs).find((line) => line.reqId === answerId) as Access | undefined;
    expect(answered?.access).toMatchObject({ rpc: "response", session: ref });
    expect([...nodeA.logs, ...nodeB.logs].join("\n")).not.toContain(sessionId);
  });
});

describe("a web node's calls to control", () => {
  it("carry the page request's id as X-Request-Id", async () => {
    const sent: Record<string, string>[] = [];
    const control = createControlClient(
      async (request) => {
        sent.push(request.headers);
        return {
          status: 200,
          headers: new Headers({ "content-type": "application/json" }),
          setCookies: [],
          body: "{}",
        };
      },
      { requestId: "page-42", cookie: "isola_session=s", onSetCookie: () => {} },
    );
    await control.get("/me");
    await control.post("/servers", { slug: "x" });
    expect(sent.length).toBeGreaterThanOrEqual(2);
    for (const headers of sent) expect(headers["x-request-id"]).toBe("page-42");
    const anonymous = createControlClient(
      async (request) => {
        sent.push(request.headers);
        return { status: 200, headers: new Headers(), setCookies: [], body: "{}" };
      },
      { onSetCookie: () => {} },
    );
    await anonymous.get("/me");
    expect(sent.at(-1)?.["x-request-id"]).toBeUndefined();
  });
});
