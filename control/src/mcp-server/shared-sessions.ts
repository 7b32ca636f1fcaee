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

/**
 * The id a request of this node's McpServer goes out with: its own (a counter from 0 in every
 * McpServer, so two nodes holding one session would both ask as 0) tagged with the node.
 */
export function taggedId(node: string, id: string | number): string {
  return `${node}:${id}`;
}

/**
 * What this node's McpServer should see of a message a client sent: a response to one of this
 * node's requests with its own id back; a response to another node's request, or to no tagged
 * request, nothing (the relay takes it to its node); anything else as it is.
 */
export function forThisNode(node: string, message: Record<string, unknown>): Record<string, unknown> | undefined {
  const isResponse = message.method === undefined && "id" in message && ("result" in message || "error" in message);
  if (!isResponse) return message;
  const prefix = `${node}:`;
  if (typeof message.id !== "string" || !message.id.startsWith(prefix)) return undefined;
  const own = message.id.slice(prefix.length);
  return { ...message, id: /^\d+$/.test(own) ? Number(own) : own };
}

/** The part of a transport the tagging wraps (after McpServer.connect set its onmessage). */
interface MessageTransport {
  send(message: never, options?: never): Promise<void>;
  onmessage?: ((message: never, extra?: never) => void) | undefined;
}

/**
 * Tags the requests `transport`'s McpServer sends with `node`, and lets through to it only the
 * answers to its own: an elicitation answer relayed to every node reaches the one that asked.
 */
export function tagServerRequests(transport: MessageTransport, node: string): void {
  const send = transport.send.bind(transport);
  transport.send = ((message: Record<string, unknown>, options?: never) => {
    const isRequest = typeof message.method === "string" && "id" in message;
    return send(
      (isRequest ? { ...message, id: taggedId(node, message.id as string | number) } : message) as never,
      options,
    );
  }) as MessageTransport["send"];
  const deliver = transport.onmessage;
  if (!deliver) throw new Error("tag a transport's requests after connecting its server");
  transport.onmessage = ((message: Record<string, unknown>, extra?: never) => {
    const ours = forThisNode(node, message);
    if (ours) deliver(ours as never, extra);
  }) as MessageTransport["onmessage"];
}

export class SharedSessions {
  readonly #bus: Bus;
  readonly #ttlMs: number;
  /** This node: it skips the relayed messages it published itself (it delivered them already), and tags its requests. */
  readonly node = randomBytes(8).toString("hex");

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
      if (node !== this.node) deliver(sessionId, message);
    });
  }

  async relay(sessionId: string, message: Record<string, unknown>): Promise<void> {
    await this.#bus
      .publish(RELAY, JSON.stringify({ node: this.node, sessionId, message }))
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
