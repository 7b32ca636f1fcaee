import { randomBytes } from "node:crypto";
import { type Bus, BusUnavailableError } from "@isola/schema";
import { z } from "zod";
import { MemoryBus } from "../stores/memory-bus.ts";
import type { ProtocolVersion } from "./protocol/negotiation.ts";

export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type McpLogLevel = (typeof LOG_LEVELS)[number];

const sessionRecord = z.object({
  serverId: z.string(),
  /** Who created it: only the same caller may use it (a leaked id is worth nothing to anyone else). */
  principal: z.string(),
  protocolVersion: z.enum(["2025-11-25", "2025-06-18", "2025-03-26"]),
  clientInfo: z.record(z.string(), z.unknown()).nullable(),
  clientCapabilities: z.record(z.string(), z.unknown()),
  logLevel: z.enum(LOG_LEVELS).nullable(),
  createdAt: z.number(),
});
export type Session = z.infer<typeof sessionRecord> & { id: string };

/** Idle sessions end after this long; every use extends it (at most once a minute). */
const SESSION_TTL_MS = 24 * 3_600_000;

/**
 * MCP sessions live in the Bus, not in a node: any node can continue any session, and a
 * DELETE on one node ends it on all of them. While the Bus is unreachable, sessions begun
 * then are kept by this node only (so calls go on; elsewhere they are unknown, and clients
 * start a new one), and sessions kept in the Bus are unknown until it is back.
 */
export class SessionStore {
  readonly #bus: Bus;
  readonly #local = new MemoryBus();
  constructor(bus: Bus) {
    this.#bus = bus;
  }

  #key = (id: string) => `mcp:session:${id}`;

  async create(
    fields: Omit<Session, "id" | "createdAt" | "logLevel" | "protocolVersion"> & { protocolVersion: ProtocolVersion },
  ): Promise<Session> {
    // 0x21-0x7E only (the spec's rule): base64url is.
    const id = randomBytes(24).toString("base64url");
    const session: Session = { ...fields, id, logLevel: null, createdAt: Date.now() };
    await this.#save(session);
    return session;
  }

  async get(id: string): Promise<Session | undefined> {
    if (!/^[\x21-\x7e]{1,200}$/.test(id)) return undefined;
    const stored =
      (await this.#bus.get(this.#key(id)).catch(unlessUnavailable(undefined))) ??
      (await this.#local.get(this.#key(id)));
    if (stored === undefined) return undefined;
    const parsed = sessionRecord.safeParse(JSON.parse(stored));
    return parsed.success ? { ...parsed.data, id } : undefined;
  }

  async update(session: Session, change: Partial<Pick<Session, "logLevel">>): Promise<Session> {
    const updated = { ...session, ...change };
    await this.#save(updated);
    return updated;
  }

  async delete(id: string): Promise<void> {
    await this.#local.delete(this.#key(id));
    await this.#bus.delete(this.#key(id)).catch(unlessUnavailable(undefined));
  }

  async #save(session: Session): Promise<void> {
    const { id, ...record } = session;
    const args = [this.#key(id), JSON.stringify(record), { ttlMs: SESSION_TTL_MS }] as const;
    const shared = await this.#bus.set(...args).catch(unlessUnavailable(false));
    if (!shared) await this.#local.set(...args);
  }
}

/** Turns a Bus outage into `value`; any other error stays an error. */
function unlessUnavailable<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof BusUnavailableError) return value;
    throw error;
  };
}
