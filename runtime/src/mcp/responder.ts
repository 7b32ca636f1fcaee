import { randomBytes } from "node:crypto";
import { type Bus, BusError, LOG_ENTRY_ID } from "@isola/schema";
import type { FastifyReply } from "fastify";
import type { ProtocolVersion } from "./protocol/negotiation.ts";

/** Events of one SSE stream, kept for resumption: capped, and gone after a while. */
const STREAM_LOG = { maxLength: 1000, ttlMs: 10 * 60_000 };

const streamKey = (sessionId: string, streamId: string) => `mcp:stream:${sessionId}:${streamId}`;

/** Last-Event-ID is `<streamId>:<bus entry id>`: it names the stream it belongs to, as the spec asks. */
export function parseEventId(value: string): { streamId: string; entryId: string } | undefined {
  const [streamId, entryId, ...rest] = value.split(":");
  if (
    !streamId ||
    !entryId ||
    rest.length > 0 ||
    !/^[A-Za-z0-9_-]{1,40}$/.test(streamId) ||
    !LOG_ENTRY_ID.test(entryId)
  ) {
    return undefined;
  }
  return { streamId, entryId };
}

interface StoredEvent {
  /** JSON of the message; "" for the priming event. */
  data: string;
  /** The response that ends the stream. */
  final?: true;
}

function sseHeaders(sessionId: string | undefined) {
  return {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    ...(sessionId ? { "mcp-session-id": sessionId } : {}),
  };
}

/**
 * Answers one POSTed request. It stays a plain JSON response unless the call sends something
 * before its result (a progress or log notification, a sampling or elicitation request): then
 * it becomes an SSE stream, primed with an event id (2025-11-25 clients), every event logged in
 * the Bus so that a client can resume it with GET + Last-Event-ID on any node.
 */
export class Responder {
  readonly #reply: FastifyReply;
  readonly #bus: Bus;
  readonly #sessionId: string | undefined;
  readonly #protocolVersion: ProtocolVersion;
  #streamId: string | undefined;
  #chain: Promise<void> = Promise.resolve();
  #finished = false;

  constructor(reply: FastifyReply, bus: Bus, sessionId: string | undefined, protocolVersion: ProtocolVersion) {
    this.#reply = reply;
    this.#bus = bus;
    this.#sessionId = sessionId;
    this.#protocolVersion = protocolVersion;
  }

  get streaming(): boolean {
    return this.#streamId !== undefined;
  }

  /** A notification or a request to the client, related to this request. Switches to SSE. */
  send(message: Record<string, unknown>): Promise<void> {
    if (this.#finished) return Promise.resolve();
    return this.#enqueue(async () => {
      await this.#startStream();
      await this.#event({ data: JSON.stringify(message) });
    });
  }

  /** The response: JSON when nothing was streamed, else the stream's last event. */
  finish(response: Record<string, unknown>, status = 200): Promise<void> {
    if (this.#finished) return Promise.resolve();
    return this.#enqueue(async () => {
      this.#finished = true;
      if (!this.#streamId) {
        const headers = this.#sessionId ? { "mcp-session-id": this.#sessionId } : {};
        await this.#reply.code(status).headers(headers).type("application/json").send(response);
        return;
      }
      await this.#event({ data: JSON.stringify(response), final: true });
      this.#reply.raw.end();
    });
  }

  // Events go out one at a time and in order, whatever order their producers finish in.
  #enqueue(work: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(work, work);
    return this.#chain;
  }

  async #startStream(): Promise<void> {
    if (this.#streamId) return;
    this.#streamId = randomBytes(9).toString("base64url");
    this.#reply.hijack();
    this.#reply.raw.writeHead(200, sseHeaders(this.#sessionId));
    // Priming: an id the client can resume from even if the connection drops before any message.
    if (this.#protocolVersion >= "2025-11-25") await this.#event({ data: "" });
  }

  async #event(event: StoredEvent): Promise<void> {
    const streamId = this.#streamId as string;
    let id: string | undefined;
    if (this.#sessionId) {
      // A Bus that is down costs resumability, not the answer.
      id = await this.#bus
        .append(streamKey(this.#sessionId, streamId), JSON.stringify(event), STREAM_LOG)
        .then((entry) => `${streamId}:${entry}`)
        .catch(() => undefined);
    }
    const socket = this.#reply.raw;
    if (socket.writableEnded || socket.destroyed) return;
    socket.write(`${id ? `id: ${id}\n` : ""}${event.data ? "event: message\n" : ""}data: ${event.data}\n\n`);
  }
}

/**
 * GET with Last-Event-ID: replays what the stream sent after that event (from the Bus, so on
 * any node), then follows it until its response has been sent, or until `maxWaitMs` (the
 * client reconnects again after that). Resolves to false, before anything is written, when the
 * Bus keeps no such event (an id never sent, or a stream expired or capped past it): the client
 * cannot get the rest without a gap, and waiting would leave it hanging for nothing.
 */
export async function resumeStream(
  reply: FastifyReply,
  bus: Bus,
  sessionId: string,
  lastEventId: { streamId: string; entryId: string },
  options: { maxWaitMs?: number; pollMs?: number } = {},
): Promise<boolean> {
  const key = streamKey(sessionId, lastEventId.streamId);
  const kept = await bus.readAfter(key, undefined, STREAM_LOG.maxLength);
  const position = kept.findIndex((entry) => entry.id === lastEventId.entryId);
  if (position === -1) return false;
  reply.hijack();
  const socket = reply.raw;
  socket.writeHead(200, sseHeaders(sessionId));
  // The client already has the response: nothing follows it.
  if (kept.slice(0, position + 1).some((entry) => (JSON.parse(entry.value) as StoredEvent).final)) {
    socket.end();
    return true;
  }
  let after = lastEventId.entryId;
  let pending = kept.slice(position + 1);
  const deadline = Date.now() + (options.maxWaitMs ?? 60_000);
  while (!socket.destroyed && Date.now() < deadline) {
    for (const entry of pending) {
      const event = JSON.parse(entry.value) as StoredEvent;
      after = entry.id;
      if (!event.data) continue;
      socket.write(`id: ${lastEventId.streamId}:${entry.id}\nevent: message\ndata: ${event.data}\n\n`);
      if (event.final) {
        socket.end();
        return true;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    try {
      pending = await bus.readAfter(key, after);
    } catch (error) {
      if (error instanceof BusError) break;
      throw error;
    }
  }
  socket.end();
  return true;
}
