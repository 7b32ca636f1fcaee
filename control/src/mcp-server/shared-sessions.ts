import { randomBytes } from "node:crypto";
import { type Bus, BusUnavailableError } from "@isola/schema";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { z } from "zod";

// The sessions of Isola's MCP server belong to the fleet, as tenants' sessions do: initialize
// stores who opened the session and what it declared in the Bus, so that a node that does not
// hold the session (its McpServer and transport live in one node's memory) rebuilds it from that
// record and answers; DELETE on one node removes the record, and the others then close their copy.
// What the client POSTs in answer to a request of the server (an elicitation's result) or to
// cancel one may land on any node: it is relayed to the node whose McpServer waits for it.

const sessionRecord = z.object({
  /** callerKey() of the caller that opened it: another caller is told it does not exist. */
  caller: z.string(),
  /** initialize's params, replayed when another node rebuilds the session. */
  initialize: z.object({
    protocolVersion: z.string(),
    capabilities: z.record(z.string(), z.unknown()),
    clientInfo: z.record(z.string(), z.unknown()),
  }),
});
export type SharedSession = z.infer<typeof sessionRecord>;

const RELAY = "isola-mcp.relay";
const key = (id: string) => `isola-mcp:session:${id}`;

/** A message a client POSTs that another node may be waiting for: a response, or a cancellation. */
export function isRelayed(body: unknown): body is Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const message = body as Record<string, unknown>;
  if (message.method === undefined) return "id" in message && ("result" in message || "error" in message);
  return message.method === "notifications/cancelled";
}

export class SharedSessions {
  readonly #bus: Bus;
  readonly #ttlMs: number;
  /** This node, so that it skips the relayed messages it published itself (it delivered them already). */
  readonly #node = randomBytes(8).toString("hex");

  constructor(bus: Bus, ttlMs: number) {
    this.#bus = bus;
    this.#ttlMs = ttlMs;
  }

  /** Stores (or refreshes) a session; false when the Bus is unreachable (the session is then this node's only). */
  async save(id: string, session: SharedSession): Promise<boolean> {
    return this.#bus
      .set(key(id), JSON.stringify(session), { ttlMs: this.#ttlMs })
      .catch(unlessUnavailable(false as boolean));
  }

  /** The stored session; "unavailable" while the Bus cannot say. */
  async load(id: string): Promise<SharedSession | undefined | "unavailable"> {
    if (!/^[\x21-\x7e]{1,200}$/.test(id)) return undefined;
    const stored = await this.#bus.get(key(id)).catch(unlessUnavailable("unavailable" as const));
    if (stored === undefined || stored === "unavailable") return stored;
    const parsed = sessionRecord.safeParse(JSON.parse(stored));
    return parsed.success ? parsed.data : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.#bus.delete(key(id)).catch(unlessUnavailable(undefined));
  }

  /** Hands `deliver` what clients POSTed on other nodes; resolves to the unsubscribe function. */
  relayTo(deliver: (sessionId: string, message: Record<string, unknown>) => void): Promise<() => Promise<void>> {
    return this.#bus.subscribe(RELAY, (text) => {
      const { node, sessionId, message } = JSON.parse(text) as {
        node: string;
        sessionId: string;
        message: Record<string, unknown>;
      };
      if (node !== this.#node) deliver(sessionId, message);
    });
  }

  async relay(sessionId: string, message: Record<string, unknown>): Promise<void> {
    await this.#bus
      .publish(RELAY, JSON.stringify({ node: this.#node, sessionId, message }))
      .catch(unlessUnavailable(undefined));
  }
}

/**
 * Makes a new transport (connected to a new McpServer, made with `sessionIdGenerator: () => id`)
 * the session `id` by replaying the client's initialize and initialized on it, so that the server
 * knows the client's capabilities and version exactly as the node that first answered them.
 * Through the Node transport's own web-standard transport: the SDK has no public way to restore
 * a session, and replaying its handshake keeps its state its own.
 */
export async function replayInitialize(
  transport: StreamableHTTPServerTransport,
  id: string,
  initialize: SharedSession["initialize"],
): Promise<void> {
  const web = (transport as unknown as { _webStandardTransport: WebStandardStreamableHTTPServerTransport })
    ._webStandardTransport;
  const headers = { accept: "application/json, text/event-stream", "content-type": "application/json" };
  const post = async (body: unknown, extra: Record<string, string> = {}) => {
    const answer = await web.handleRequest(
      new Request("http://isola.internal/_isola/mcp", {
        method: "POST",
        headers: { ...headers, ...extra },
        body: JSON.stringify(body),
      }),
    );
    const text = await answer.text();
    if (answer.status >= 300) throw new Error(`replaying initialize: ${answer.status} ${text.slice(0, 200)}`);
    return text;
  };
  const answered = await post({ jsonrpc: "2.0", id: 0, method: "initialize", params: initialize });
  if (transport.sessionId !== id) throw new Error("replaying initialize gave another session id");
  const version = /"protocolVersion":"([^"]+)"/.exec(answered)?.[1] ?? initialize.protocolVersion;
  await post(
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { "mcp-session-id": id, "mcp-protocol-version": version },
  );
}

/** Turns a Bus outage into `value`; any other error stays an error. */
function unlessUnavailable<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof BusUnavailableError) return value;
    throw error;
  };
}
