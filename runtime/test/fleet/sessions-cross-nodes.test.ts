import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enterOnPage } from "../control-mcp/isola-client.ts";
import { reportFigures } from "../support/figures.ts";
import { Fleet, type FleetNode, type Routed } from "../support/fleet.ts";
import {
  ACCEPT_BOTH,
  EVERYTHING_SOURCE,
  initializeRequest,
  messagesOf,
  PROBE_SOURCE,
  parseSse,
  type SseEvent,
  send,
} from "../support/mcp.ts";

// An MCP session belongs to the fleet, not to a node: begun on A, it goes on on B and C; a stream
// that A was sending resumes on B; a sampling answer POSTed to B reaches the call waiting on A.
// The same for Isola's own MCP server (/_isola/mcp).

let fleet: Fleet;
let a: FleetNode;
let b: FleetNode;
let c: FleetNode;
let key: string;
const clients: Client[] = [];

beforeAll(async () => {
  fleet = await Fleet.start({ size: 3 });
  [a, b, c] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
  await fleet.deploy("everything", EVERYTHING_SOURCE, a);
  await fleet.deploy("probe", PROBE_SOURCE, a);
  // One key for both servers would be simpler, but keys belong to a server.
  key = (await fleet.createKey("everything", "fleet")).key;
}, 90_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await fleet?.stop();
});

const textOf = (result: unknown) => (result as { content: { type: string; text: string }[] }).content[0]?.text;

/** The official SDK client, every request of it sent to the next node in turn. */
async function rotatingClient(
  path: string,
  token: string,
  routed: Routed[],
  capabilities: Record<string, unknown> = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: "fleet-test", version: "1.0.0" }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(`${fleet.balancer.url}${path}`), {
    fetch: fleet.rotatingFetch(routed),
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

/** Reads an SSE response until `enough` complete events came (then drops it), or to its end. */
async function readEvents(response: Response, controller: AbortController, enough = Infinity): Promise<SseEvent[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const complete = () => parseSse(text.slice(0, text.lastIndexOf("\n\n") + 2));
  while (complete().length < enough) {
    const { value, done } = await reader.read();
    if (done) return complete();
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return complete();
}

describe("a tenant's MCP session across the fleet", () => {
  it("begun on A, lists and calls tools on B and C, and ends everywhere from one node", async () => {
    const session = await fleet.session("everything", key, a);
    const timings: number[] = [];
    for (const node of [b, c, a, c, b]) {
      const started = performance.now();
      const listed = await session.post(node, "tools/list");
      expect(listed.status, node.name).toBe(200);
      expect(listed.json.result.tools.map((tool: { name: string }) => tool.name)).toContain("test_simple_text");
      const called = await session.post(node, "tools/call", { name: "test_simple_text", arguments: {} });
      expect(called.status, node.name).toBe(200);
      expect(called.json.result.content[0].text).toBe("This is a simple text response for testing.");
      timings.push(performance.now() - started);
    }
    // DELETE on C ends it on A and B as well.
    const ended = await send(`${c.url}/everything/mcp`, { method: "DELETE", headers: session.headers });
    expect(ended.status).toBe(200);
    for (const node of [a, b]) expect((await session.post(node, "ping")).status, node.name).toBe(404);
    reportFigures("fleet.session-hops", {
      hops: timings.length,
      maxListAndCallMs: Math.max(...timings),
      medianListAndCallMs: timings.sort((x, y) => x - y)[Math.floor(timings.length / 2)] ?? 0,
    });
  });

  it("refuses a session of another caller on every node, as unknown", async () => {
    const probeKey = (await fleet.createKey("probe", "other")).key;
    const session = await fleet.session("everything", key, a);
    for (const node of [b, c]) {
      const foreign = await send(`${node.url}/everything/mcp`, {
        body: { jsonrpc: "2.0", id: 2, method: "tools/list" },
        headers: { ...session.headers, authorization: `Bearer ${probeKey}` },
      });
      // The other key is not even valid for this server: refused before the session is looked at.
      expect(foreign.status).toBe(401);
    }
    const probeSession = await fleet.session("probe", probeKey, a);
    const crossed = await send(`${b.url}/everything/mcp`, {
      body: { jsonrpc: "2.0", id: 2, method: "tools/list" },
      headers: { ...probeSession.headers, authorization: `Bearer ${key}` },
    });
    expect(crossed.status).toBe(404);
  });

  it("resumes on B, then on C, a stream that A was sending: nothing lost, nothing repeated", async () => {
    const probeKey = (await fleet.createKey("probe", "resumer")).key;
    const session = await fleet.session("probe", probeKey, a);
    const controller = new AbortController();
    const posted = await fetch(`${a.url}/probe/mcp`, {
      method: "POST",
      headers: { ...session.headers, "content-type": "application/json", accept: ACCEPT_BOTH },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 40,
        method: "tools/call",
        params: { name: "count_slowly", arguments: { to: 6 }, _meta: { progressToken: "fleet" } },
      }),
      signal: controller.signal,
    });
    expect(posted.headers.get("content-type")).toBe("text/event-stream");
    // The priming event and progress 1, then the connection to A drops.
    const onA = await readEvents(posted, controller, 2);

    const resumeOn = async (node: FleetNode, lastEventId: string, enough?: number) => {
      const cut = new AbortController();
      const started = performance.now();
      const response = await fetch(`${node.url}/probe/mcp`, {
        headers: { ...session.headers, accept: "text/event-stream", "last-event-id": lastEventId },
        signal: cut.signal,
      });
      expect(response.status, node.name).toBe(200);
      const events = await readEvents(response, cut, enough);
      return { events, firstEventMs: performance.now() - started };
    };
    const onB = await resumeOn(b, onA.at(-1)?.id as string, 2);
    const onC = await resumeOn(c, onB.events.at(-1)?.id as string);

    const all = [...onA, ...onB.events, ...onC.events];
    const ids = all.map((event) => event.id);
    expect(ids.every((id) => typeof id === "string")).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const messages = messagesOf(all);
    expect(messages.map((message) => (message.params as { progress?: number } | undefined)?.progress)).toEqual([
      1,
      2,
      3,
      4,
      5,
      6,
      undefined,
    ]);
    expect(messages.at(-1)).toMatchObject({ id: 40, result: { content: [{ text: "counted to 6" }] } });
    // Each node saw a part of it.
    expect(messagesOf(onB.events).length).toBeGreaterThan(0);
    expect(messagesOf(onC.events).length).toBeGreaterThan(0);
    reportFigures("fleet.sse-resumption", {
      events: all.length,
      onA: messagesOf(onA).length,
      onB: messagesOf(onB.events).length,
      onC: messagesOf(onC.events).length,
      lost: 0,
      repeated: ids.length - new Set(ids).size,
    });
  });

  it("refuses on B a Last-Event-ID of a stream of another session", async () => {
    const first = await fleet.session("everything", key, a);
    const second = await fleet.session("everything", key, a);
    const answer = await first.post(a, "tools/call", {
      name: "test_tool_with_progress",
      arguments: {},
      _meta: { progressToken: 1 },
    });
    const lastEventId = answer.events[1]?.id as string;
    const resumed = await send(`${b.url}/everything/mcp`, {
      method: "GET",
      headers: { ...second.headers, accept: "text/event-stream", "last-event-id": lastEventId },
    });
    expect(resumed.status).toBe(400);
    expect(resumed.json.error.message).toMatch(/Last-Event-ID/);
  });

  it("takes sampling and elicitation answers on another node than the one running the call (SDK client)", async () => {
    const routed: Routed[] = [];
    const { client } = await rotatingClient("/everything/mcp", key, routed, {
      sampling: {},
      elicitation: { form: {} },
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const text = (request.params.messages[0] as { content: { text: string } }).content.text;
      return { role: "assistant", content: { type: "text", text: `echo: ${text}` }, model: "fleet-model" };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: "accept",
      content: { username: "ada", email: "ada@example.com" },
    }));
    const timings: number[] = [];
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: `round ${round}` } });
      timings.push(performance.now() - started);
      expect(textOf(sampled)).toBe(`LLM response: echo: round ${round}`);
    }
    const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "who?" } });
    expect(textOf(elicited)).toBe('User response: action=accept, content={"username":"ada","email":"ada@example.com"}');

    // Every answer went to another node than the call that asked for it (the next one in turn).
    const calls = routed.flatMap((entry, index) => (entry.carried === "tools/call" ? [index] : []));
    expect(calls).toHaveLength(4);
    for (const index of calls) {
      const call = routed[index] as Routed;
      const answer = routed.slice(index + 1).find((entry) => entry.carried.startsWith("response isola-"));
      expect(answer?.status).toBe(202);
      expect(answer?.node).not.toBe(call.node);
    }
    expect(new Set(routed.map((entry) => entry.node))).toEqual(new Set(["a", "b", "c"]));
    reportFigures("fleet.sampling-across-nodes", {
      rounds: timings.length,
      maxCallMs: Math.max(...timings),
      medianCallMs: timings.sort((x, y) => x - y)[1] ?? 0,
    });
  });
});

describe("Isola's own MCP server (/_isola/mcp) across the fleet", () => {
  it("continues on B and C a session initialized on A (SDK client, each request to the next node)", async () => {
    const routed: Routed[] = [];
    const { client, transport } = await rotatingClient("/_isola/mcp", fleet.adminToken, routed);
    const tools = await client.listTools();
    expect(tools.tools.map((tool) => tool.name)).toContain("list_servers");
    for (let call = 0; call < 3; call++) {
      const listed = await client.callTool({ name: "list_servers", arguments: {} });
      expect(listed.isError ?? false).toBe(false);
      expect(textOf(listed)).toMatch(/everything \(live\)/);
    }
    const afterInitialize = routed.filter((entry) => entry.carried !== "initialize" && entry.carried !== "GET");
    expect(afterInitialize.every((entry) => entry.status < 300)).toBe(true);
    expect(new Set(afterInitialize.map((entry) => entry.node))).toEqual(new Set(["a", "b", "c"]));
    // Ended on one node, it is gone on the others.
    const sessionId = transport.sessionId as string;
    await transport.terminateSession();
    for (const node of fleet.nodes) {
      const after = await send(`${node.url}/_isola/mcp`, {
        body: { jsonrpc: "2.0", id: 9, method: "tools/list" },
        headers: {
          authorization: `Bearer ${fleet.adminToken}`,
          "mcp-session-id": sessionId,
          "mcp-protocol-version": "2025-11-25",
        },
      });
      expect(after.status, node.name).toBe(404);
    }
  });

  it("hands a secret's elicitation answer POSTed to one node to the call waiting on another (set_secret)", async () => {
    const routed: Routed[] = [];
    const { client } = await rotatingClient("/_isola/mcp", fleet.adminToken, routed, { elicitation: { url: {} } });
    let answer: "enter" | "decline" = "enter";
    const page = enterOnPage(fleet.adminToken, { FLEET_TOKEN: "fleet-secret-value" });
    client.setRequestHandler(ElicitRequestSchema, async (request) =>
      answer === "enter" ? page(request.params) : { action: "decline" },
    );
    const started = performance.now();
    // Bounded: an answer that never reaches the waiting call would otherwise hold it for 5 minutes.
    const bounded = { timeout: 10_000 };
    const set = await client.callTool(
      { name: "set_secret", arguments: { server: "everything", name: "FLEET_TOKEN" } },
      undefined,
      bounded,
    );
    const setMs = performance.now() - started;
    expect(set.isError ?? false, textOf(set)).toBe(false);
    const secrets = await fleet.control("any", "GET", "servers/everything/secrets");
    expect(JSON.stringify(secrets.body)).toContain("FLEET_TOKEN");
    expect(JSON.stringify(secrets.body)).not.toContain("fleet-secret-value");

    answer = "decline";
    const declinedAt = performance.now();
    const declined = await client.callTool(
      { name: "set_secret", arguments: { server: "everything", name: "OTHER" } },
      undefined,
      bounded,
    );
    const declineMs = performance.now() - declinedAt;
    expect(declined.isError).toBe(true);
    expect(textOf(declined)).toMatch(/declined/);

    // Each answer went to another node than the call that waited for it.
    const calls = routed.flatMap((entry, index) => (entry.carried === "tools/call" ? [index] : []));
    expect(calls).toHaveLength(2);
    for (const index of calls) {
      const reply = routed.slice(index + 1).find((entry) => entry.carried.startsWith("response "));
      expect(reply?.status).toBe(202);
      expect(reply?.node).not.toBe(routed[index]?.node);
    }
    reportFigures("fleet.isola-mcp-elicitation", { setSecretMs: setMs, declineMs });
  });

  it("keeps apart two elicitations waiting at once on two nodes, each answered to a third (set_secret)", async () => {
    // Each node's McpServer counts its requests from 0: untagged, both nodes would ask as 0 and
    // the first answer, relayed to every node, would resolve both calls.
    const routed: Routed[] = [];
    const { client } = await rotatingClient("/_isola/mcp", fleet.adminToken, routed, { elicitation: { url: {} } });
    const page = enterOnPage(fleet.adminToken, { KEPT_APART: "entered-value" });
    const asked: string[] = [];
    let bothAsked: () => void = () => {};
    const barrier = new Promise<void>((resolve) => {
      bothAsked = resolve;
    });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      if (asked.length === 2) bothAsked();
      await barrier; // answered only once both wait
      return request.params.message.includes("KEPT_APART") ? page(request.params) : { action: "decline" };
    });
    const bounded = { timeout: 15_000 };
    const [kept, declined] = await Promise.all([
      client.callTool(
        { name: "set_secret", arguments: { server: "everything", name: "KEPT_APART" } },
        undefined,
        bounded,
      ),
      client.callTool(
        { name: "set_secret", arguments: { server: "everything", name: "TURNED_DOWN" } },
        undefined,
        bounded,
      ),
    ]);
    expect(asked).toHaveLength(2);
    expect(kept.isError ?? false, textOf(kept)).toBe(false);
    expect(declined.isError).toBe(true);
    expect(textOf(declined)).toMatch(/declined/);
    const secrets = JSON.stringify((await fleet.control("any", "GET", "servers/everything/secrets")).body);
    expect(secrets).toContain("KEPT_APART");
    expect(secrets).not.toContain("TURNED_DOWN");
    // The two calls ran on two nodes.
    const callNodes = routed.filter((entry) => entry.carried === "tools/call").map((entry) => entry.node);
    expect(new Set(callNodes).size).toBe(2);
  });

  it("refuses on B a session initialized on A by another caller, as unknown", async () => {
    const initialized = await send(`${a.url}/_isola/mcp`, {
      body: initializeRequest(),
      headers: { authorization: `Bearer ${fleet.adminToken}` },
    });
    expect(initialized.status).toBe(200);
    const sessionId = initialized.headers["mcp-session-id"] as string;
    const token = await fleet.control(a, "POST", "me/tokens", { name: "second" });
    expect(token.status, JSON.stringify(token.body)).toBe(201);
    const foreign = await send(`${b.url}/_isola/mcp`, {
      body: { jsonrpc: "2.0", id: 2, method: "tools/list" },
      headers: {
        authorization: `Bearer ${token.body.token}`,
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-11-25",
      },
    });
    expect(foreign.status).toBe(404);
  });
});
