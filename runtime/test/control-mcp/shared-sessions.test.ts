// Sessions of Isola's MCP server shared through the Bus: the record another node rebuilds a
// session from, the messages relayed to the node that waits for them, and the replay that makes a
// new transport the session. Across real nodes: runtime/test/fleet/sessions-cross-nodes.test.ts.
import {
  forThisNode,
  isRelayed,
  replayInitialize,
  type SharedSession,
  SharedSessions,
  taggedId,
  tagServerRequests,
} from "@isola/control/mcp-server";
import { type Bus, BusUnavailableError } from "@isola/schema";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { MemoryBus } from "../../src/stores/memory-bus.ts";
import { eventually } from "../support/wait.ts";

const RECORD: SharedSession = {
  caller: "token:t1",
  initialize: {
    protocolVersion: "2025-06-18",
    capabilities: { elicitation: { url: {} } },
    clientInfo: { name: "client", version: "1.0.0" },
  },
};

describe("which POSTed messages are relayed to the other nodes", () => {
  it.each([
    [{ jsonrpc: "2.0", id: 3, result: { action: "accept" } }, true],
    [{ jsonrpc: "2.0", id: "x", error: { code: -1, message: "no" } }, true],
    [{ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } }, true],
    [{ jsonrpc: "2.0", method: "notifications/initialized" }, false],
    [{ jsonrpc: "2.0", id: 4, method: "tools/call", params: {} }, false],
    [{ jsonrpc: "2.0", result: {} }, false],
    [[{ jsonrpc: "2.0", id: 3, result: {} }], false],
    ["text", false],
    [null, false],
  ])("%j: %s", (body, relayed) => {
    expect(isRelayed(body)).toBe(relayed);
  });
});

describe("requests of this node's server, and the answers it sees", () => {
  // Every McpServer counts its requests from 0: two nodes holding one session would both ask as 0,
  // and an answer relayed to every node would resolve both. Tagged, each node sees only its own.
  it.each([
    [
      "an answer to its own request, with its id back",
      { jsonrpc: "2.0", id: "n1:0", result: { a: 1 } },
      { jsonrpc: "2.0", id: 0, result: { a: 1 } },
    ],
    [
      "an error answer too",
      { jsonrpc: "2.0", id: "n1:12", error: { code: -1, message: "no" } },
      { jsonrpc: "2.0", id: 12, error: { code: -1, message: "no" } },
    ],
    [
      "a string id of its own stays a string",
      { jsonrpc: "2.0", id: "n1:abc", result: {} },
      { jsonrpc: "2.0", id: "abc", result: {} },
    ],
    ["not an answer to another node's request", { jsonrpc: "2.0", id: "n2:0", result: {} }, undefined],
    ["not an answer to an untagged id", { jsonrpc: "2.0", id: 0, result: {} }, undefined],
    ["not a tag that merely starts alike", { jsonrpc: "2.0", id: "n10:0", result: {} }, undefined],
    [
      "a request as it is",
      { jsonrpc: "2.0", id: 4, method: "tools/call", params: {} },
      { jsonrpc: "2.0", id: 4, method: "tools/call", params: {} },
    ],
    [
      "a notification as it is",
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } },
    ],
  ])("%s", (_case, message, seen) => {
    expect(forThisNode("n1", message)).toEqual(seen);
  });

  it("tags what the server sends as requests only, and hands it back only its own answers", async () => {
    const sent: unknown[] = [];
    const delivered: unknown[] = [];
    const transport = {
      send: async (message: never) => void sent.push(message),
      onmessage: (message: never) => void delivered.push(message),
    };
    tagServerRequests(transport, "n1");
    await transport.send({ jsonrpc: "2.0", id: 0, method: "elicitation/create", params: {} } as never);
    await transport.send({ jsonrpc: "2.0", id: 5, result: {} } as never);
    await transport.send({ jsonrpc: "2.0", method: "notifications/progress", params: {} } as never);
    expect(sent).toEqual([
      { jsonrpc: "2.0", id: taggedId("n1", 0), method: "elicitation/create", params: {} },
      { jsonrpc: "2.0", id: 5, result: {} },
      { jsonrpc: "2.0", method: "notifications/progress", params: {} },
    ]);
    transport.onmessage({ jsonrpc: "2.0", id: "n2:0", result: { action: "decline" } } as never);
    transport.onmessage({ jsonrpc: "2.0", id: "n1:0", result: { action: "accept" } } as never);
    expect(delivered).toEqual([{ jsonrpc: "2.0", id: 0, result: { action: "accept" } }]);
  });

  it("must come after the server is connected", () => {
    expect(() => tagServerRequests({ send: async () => {} }, "n1")).toThrow(/after connecting/);
  });
});

describe("the shared session records", () => {
  it("stores, reads back and deletes a session", async () => {
    const shared = new SharedSessions(new MemoryBus(), 60_000);
    expect(await shared.save("s-1", RECORD)).toBe(true);
    expect(await shared.load("s-1")).toEqual(RECORD);
    await shared.delete("s-1");
    expect(await shared.load("s-1")).toBeUndefined();
  });

  it("finds nothing for ids outside the spec's characters, or a record of another shape", async () => {
    const bus = new MemoryBus();
    const shared = new SharedSessions(bus, 60_000);
    expect(await shared.load("with space")).toBeUndefined();
    expect(await shared.load("")).toBeUndefined();
    expect(await shared.load("x".repeat(201))).toBeUndefined();
    await bus.set("isola-mcp:session:odd", JSON.stringify({ caller: 1 }), { ttlMs: 60_000 });
    expect(await shared.load("odd")).toBeUndefined();
  });

  it("says so when the Bus is unreachable, instead of failing", async () => {
    const down = new MemoryBus();
    const unavailable = () => Promise.reject(new BusUnavailableError("redis is down"));
    Object.assign(down, { get: unavailable, set: unavailable, delete: unavailable, publish: unavailable });
    const shared = new SharedSessions(down as Bus, 60_000);
    expect(await shared.save("s-1", RECORD)).toBe(false);
    expect(await shared.load("s-1")).toBe("unavailable");
    await expect(shared.delete("s-1")).resolves.toBeUndefined();
    await expect(shared.relay("s-1", { jsonrpc: "2.0", id: 1, result: {} })).resolves.toBeUndefined();
  });

  it("relays a message to the other nodes, not back to the one that published it", async () => {
    const bus = new MemoryBus();
    const [one, two] = [new SharedSessions(bus, 60_000), new SharedSessions(bus, 60_000)];
    const heard: [string, string, unknown][] = [];
    await one.relayTo((id, message) => heard.push(["one", id, message]));
    await two.relayTo((id, message) => heard.push(["two", id, message]));
    await one.relay("s-1", { jsonrpc: "2.0", id: 7, result: { ok: true } });
    await eventually(() => (heard.length ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([["two", "s-1", { jsonrpc: "2.0", id: 7, result: { ok: true } }]]);
  });
});

describe("rebuilding a session on a new transport", () => {
  it("replays initialize: the transport takes the session's id, the server the client's capabilities", async () => {
    const server = new McpServer({ name: "t", version: "1" });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => "s-42" });
    await server.connect(transport);
    await replayInitialize(transport, "s-42", RECORD.initialize);
    expect(transport.sessionId).toBe("s-42");
    expect(server.server.getClientCapabilities()).toEqual({ elicitation: { url: {} } });
    expect(server.server.getClientVersion()).toEqual({ name: "client", version: "1.0.0" });
    await server.close();
  });

  it("fails when the transport would take another id than the session's", async () => {
    const server = new McpServer({ name: "t", version: "1" });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => "other" });
    await server.connect(transport);
    await expect(replayInitialize(transport, "s-42", RECORD.initialize)).rejects.toThrow(/another session id/);
    await server.close();
  });
});
