import { randomBytes } from "node:crypto";
import { type Bus, BusUnavailableError } from "@isola/schema";
import { z } from "zod";
import type { SessionStore } from "./session-store.ts";

/**
 * A stream's record lives this long unless the node holding the stream refreshes it: when a
 * node dies, the sessions of its streams end within this time (POSTs get 404, clients reconnect).
 */
const RECORD_TTL_MS = 90_000;
const REFRESH_MS = 30_000;
/** The MCP session a stream initialized is named for as long as an idle session lives. */
const LINK_TTL_MS = 24 * 3_600_000;

const recordKey = (id: string) => `mcp:legacy:${id}`;
const linkKey = (id: string) => `mcp:legacy:${id}:session`;
const channelOf = (id: string) => `mcp.legacy.${id}`;

const streamOwner = z.object({ serverId: z.string(), principal: z.string() });
type StreamOwner = z.infer<typeof streamOwner>;

/** A legacy stream as any node sees it: whose it is, and its MCP session once initialized. */
export type LegacyStream = StreamOwner & { id: string; sessionId: string | undefined };

interface Held {
  owner: StreamOwner;
  /** The record's JSON, written again at every refresh (it never changes: no race with other nodes). */
  record: string;
  write(json: string): void;
  end(): void;
  released: Promise<void>;
}

/**
 * The legacy transport's streams (GET /<slug>/sse). The stream lives on one node, but the
 * client's POSTs may land on any: each stream has a record in the Bus (found by its id) and a
 * channel that the node holding it subscribes to, so that whichever node answers a message
 * publishes the answer there. The MCP session itself is an ordinary one (SessionStore), linked
 * to the stream once the client initializes; it ends with the stream.
 */
export class LegacyStreams {
  readonly #bus: Bus;
  readonly #sessions: SessionStore;
  readonly #held = new Map<string, Held>();
  readonly #refresher: NodeJS.Timeout;

  constructor(bus: Bus, sessions: SessionStore) {
    this.#bus = bus;
    this.#sessions = sessions;
    this.#refresher = setInterval(() => this.#refresh(), REFRESH_MS);
    this.#refresher.unref();
  }

  /**
   * Opens a stream held by this node: its record in the Bus, and its channel, whose messages go
   * to `write` (JSON of one message each). `end` closes the client's connection; `release`
   * (called once the connection is gone) ends the stream and its session on every node.
   */
  async open(
    owner: StreamOwner,
    write: (json: string) => void,
    end: () => void,
  ): Promise<{ id: string; release(): Promise<void> }> {
    const id = randomBytes(24).toString("base64url");
    const record = JSON.stringify(owner);
    await this.#bus.set(recordKey(id), record, { ttlMs: RECORD_TTL_MS });
    let unsubscribe: () => Promise<void>;
    try {
      unsubscribe = await this.#bus.subscribe(channelOf(id), write);
    } catch (error) {
      await this.#bus.delete(recordKey(id)).catch(() => {});
      throw error;
    }
    let markReleased = () => {};
    const held: Held = { owner, record, write, end, released: new Promise((resolve) => (markReleased = resolve)) };
    this.#held.set(id, held);
    let releasing: Promise<void> | undefined;
    const release = () => {
      releasing ??= (async () => {
        this.#held.delete(id);
        // Best effort: what a Bus outage leaves behind expires on its own.
        await unsubscribe().catch(() => {});
        const sessionId = await this.#bus.get(linkKey(id)).catch(() => undefined);
        await Promise.all([
          this.#bus.delete(recordKey(id)),
          this.#bus.delete(linkKey(id)),
          sessionId ? this.#sessions.delete(sessionId) : undefined,
        ]).catch(() => {});
        markReleased();
      })();
      return releasing;
    };
    return { id, release };
  }

  /** A stream by the id its endpoint event gave, from any node; undefined when it ended or never was. */
  async find(id: string): Promise<LegacyStream | undefined> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
    const [record, sessionId] = await Promise.all([this.#bus.get(recordKey(id)), this.#bus.get(linkKey(id))]);
    if (record === undefined) return undefined;
    const owner = streamOwner.safeParse(JSON.parse(record));
    return owner.success ? { ...owner.data, id, sessionId } : undefined;
  }

  /** Names the MCP session the stream's initialize opened. */
  async link(id: string, sessionId: string): Promise<void> {
    await this.#bus.set(linkKey(id), sessionId, { ttlMs: LINK_TTL_MS });
  }

  /** Sends one message to the client of a stream, wherever the stream is held. */
  async send(id: string, message: Record<string, unknown>): Promise<void> {
    const json = JSON.stringify(message);
    try {
      await this.#bus.publish(channelOf(id), json);
    } catch (error) {
      // Without the Bus, a stream held here can still be reached.
      const held = this.#held.get(id);
      if (!(error instanceof BusUnavailableError) || !held) throw error;
      held.write(json);
    }
  }

  /** Ends the streams this node holds for a server (it was deleted, paused or switched the transport off). */
  async endServer(serverId: string): Promise<void> {
    const ending = [...this.#held.values()].filter((held) => held.owner.serverId === serverId);
    for (const held of ending) held.end();
    await Promise.all(ending.map((held) => held.released));
  }

  holds(serverId: string): boolean {
    return [...this.#held.values()].some((held) => held.owner.serverId === serverId);
  }

  /** Ends every stream this node holds (shutdown): clients reconnect to another node. */
  async close(): Promise<void> {
    clearInterval(this.#refresher);
    const ending = [...this.#held.values()];
    for (const held of ending) held.end();
    await Promise.all(ending.map((held) => held.released));
  }

  #refresh(): void {
    for (const [id, held] of this.#held) {
      this.#bus.set(recordKey(id), held.record, { ttlMs: RECORD_TTL_MS }).catch(() => {});
    }
  }
}
