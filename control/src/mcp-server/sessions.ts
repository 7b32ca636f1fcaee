import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

// The sessions of Isola's MCP server this node holds in memory (the McpServer and transport of
// each). Their records are in the Bus (shared-sessions.ts), so another node rebuilds a session it
// does not hold; this table is what this node holds. Each session is bound to its caller, bounded
// in number, and closed when idle here (its record stays for the other nodes until its TTL).

export interface Session {
  id: string;
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** callerKey() of the caller that opened it: another caller is told it does not exist. */
  caller: string;
  lastSeen: number;
  /** The Bus holds its record (shared-sessions.ts): any node may continue it. */
  shared?: boolean;
  /** When this node last stored its record in the Bus (each use extends it, at most once a minute). */
  savedAt?: number;
}

export interface SessionLimits {
  /** Sessions one caller holds at once; opening one more closes its oldest. */
  perCaller: number;
  /** Sessions this node holds at once; opening one more closes the least recently used. */
  total: number;
  /** A session unused this long is closed. */
  idleMs: number;
}

export const SESSION_LIMITS: SessionLimits = { perCaller: 20, total: 5000, idleMs: 30 * 60_000 };

export class SessionTable {
  readonly #sessions = new Map<string, Session>();
  readonly #limits: SessionLimits;
  readonly #now: () => number;

  constructor(limits: SessionLimits = SESSION_LIMITS, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The session `id` if `caller` opened it; undefined otherwise (unknown and foreign alike). */
  get(id: string, caller: string): Session | undefined {
    const session = this.#sessions.get(id);
    if (!session || session.caller !== caller) return undefined;
    session.lastSeen = this.#now();
    // Most recently used last: the map's order is the eviction order.
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    return session;
  }

  /** The session `id` whoever opened it, without counting it as a use (for messages relayed from other nodes). */
  held(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** Adds a session, first closing what the limits make room for. */
  add(session: Omit<Session, "lastSeen">): void {
    const own = [...this.#sessions.values()].filter((entry) => entry.caller === session.caller);
    if (own.length >= this.#limits.perCaller) void this.close(own[0] as Session);
    if (this.#sessions.size >= this.#limits.total) {
      const oldest = this.#sessions.values().next().value;
      if (oldest) void this.close(oldest);
    }
    this.#sessions.set(session.id, { ...session, lastSeen: this.#now() });
  }

  /** Forgets a session (its transport closed). */
  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Closes the sessions idle past the limit. */
  async sweep(): Promise<void> {
    const cutoff = this.#now() - this.#limits.idleMs;
    for (const session of [...this.#sessions.values()]) if (session.lastSeen < cutoff) await this.close(session);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#sessions.values()].map((session) => this.close(session)));
  }

  async close(session: Session): Promise<void> {
    this.#sessions.delete(session.id);
    await session.server.close().catch(() => {});
  }
}
