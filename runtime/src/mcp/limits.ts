import { type Bus, BusUnavailableError, type DegradableStatus } from "@isola/schema";
import { MemoryBus } from "../stores/memory-bus.ts";
import type { Caller } from "./context.ts";
import type { ServerRecord } from "./server-directory.ts";

export type LimitCheck =
  | { ok: true }
  | { ok: false; limit: "rate" | "quota"; retryAfterSeconds: number; message: string };

/** A bucket holding a minute's worth of calls, refilled continuously. */
export function perMinute(callsPerMinute: number) {
  return { capacity: Math.max(1, callsPerMinute), refillPerSecond: Math.max(callsPerMinute, 1) / 60 };
}

/** The first instant of next month (UTC), when a monthly quota resets. */
export function nextMonth(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

/** Seconds until the first of next month (UTC). */
export function secondsToNextMonth(now: Date): number {
  return Math.ceil((nextMonth(now).getTime() - now.getTime()) / 1000);
}

/** Who is calling, in the words of a refusal. Never a key or a token. */
export function describeCaller(caller: Caller): string {
  if (caller.kind === "key") return `API key "${caller.label}"`;
  if (caller.kind === "oauth") return `user ${caller.label}`;
  // An anonymous caller's bucket is its address: authenticate() keys it `<server>:ip:<address>`.
  const at = caller.rateKey.indexOf(":ip:");
  return at < 0 ? "anonymous caller" : `anonymous caller at ${caller.rateKey.slice(at + 4)}`;
}

/** The calls a minute a caller may make to a server: its API key's own limit, else the plan's. */
export function rateFor(server: ServerRecord, caller: Caller): { perMinute: number; source: "key" | "plan" } {
  return caller.rateLimitPerMinute === undefined
    ? { perMinute: server.plan.rateLimitPerMinute, source: "plan" }
    : { perMinute: caller.rateLimitPerMinute, source: "key" };
}

const KNOWN_QUOTAS_CAP = 100_000;

/**
 * Rate limits (a token bucket per caller per server; per address for anonymous callers) and
 * monthly tool-call quotas per org, kept in the Bus so that they hold across nodes.
 *
 * If the Bus (Redis) is unreachable, each node keeps limits of its own instead of failing open
 * or closed: its own buckets, and the org's quota counted on from the last value it saw. It says
 * so in status() (/readyz), probes the Bus until it answers, then adds the calls it counted to
 * the shared quota and goes back to shared limits.
 */
export class Limits {
  readonly #bus: Bus;
  readonly #local = new MemoryBus();
  readonly #now: () => Date;
  readonly #probeMs: number;
  #degraded: { since: Date; reason: string } | undefined;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;
  /** The last shared value of each quota counter this node saw: where counting goes on locally. */
  readonly #known = new Map<string, number>();
  /** Quota counted while degraded, to be added to the shared counters once the Bus is back. */
  readonly #unshared = new Map<string, { count: number; ttlMs: number }>();

  constructor(bus: Bus, options: { now?: () => Date; probeMs?: number } = {}) {
    this.#bus = bus;
    this.#now = options.now ?? (() => new Date());
    this.#probeMs = options.probeMs ?? 1000;
  }

  status(): DegradableStatus {
    if (!this.#degraded) return { degraded: false, mode: "shared" };
    return {
      degraded: true,
      mode: "local",
      since: this.#degraded.since.toISOString(),
      reason: `limits are kept by each node on its own: ${this.#degraded.reason}`,
    };
  }

  /** The limits a request draws on: the caller's bucket, and for tools/call the org's monthly quota. */
  async check(server: ServerRecord, caller: Caller, method: string): Promise<LimitCheck> {
    const rate = await this.#rate(server, caller);
    if (!rate.ok || method !== "tools/call") return rate;
    return this.#quota(server, caller);
  }

  async #rate(server: ServerRecord, caller: Caller): Promise<LimitCheck> {
    const { perMinute: limit, source } = rateFor(server, caller);
    const key = `rl:${caller.rateKey}`;
    const taken = await this.#shared(
      (bus) => bus.takeTokens(key, perMinute(limit)),
      () => this.#local.takeTokens(key, perMinute(limit)),
    );
    if (taken.allowed) return { ok: true };
    const retryAfterSeconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    const whose = source === "key" ? "the key's own limit" : "the plan's limit";
    return {
      ok: false,
      limit: "rate",
      retryAfterSeconds,
      message: `rate limit exceeded: ${describeCaller(caller)} may make ${limit} calls a minute to ${server.slug} (${whose}); retry in ${retryAfterSeconds} s`,
    };
  }

  /** Counts a tool call against the org's month; refuses past the plan's calls a month. */
  async #quota(server: ServerRecord, caller: Caller): Promise<LimitCheck> {
    const now = this.#now();
    const month = now.toISOString().slice(0, 7);
    const key = `quota:${server.orgId}:${month}`;
    const ttlMs = (secondsToNextMonth(now) + 86_400) * 1000;
    const used = await this.#shared(
      async (bus) => {
        const value = await bus.increment(key, { ttlMs });
        if (this.#known.size >= KNOWN_QUOTAS_CAP) this.#known.clear();
        this.#known.set(key, value);
        return value;
      },
      async () => {
        const unshared = this.#unshared.get(key) ?? { count: 0, ttlMs };
        unshared.count++;
        this.#unshared.set(key, unshared);
        return (this.#known.get(key) ?? 0) + unshared.count;
      },
    );
    const limit = server.plan.callsPerMonth;
    if (used <= limit) return { ok: true };
    return {
      ok: false,
      limit: "quota",
      retryAfterSeconds: secondsToNextMonth(now),
      message: `monthly quota exceeded: the organisation of ${server.slug} has used the ${limit} tool calls its plan allows in ${month} (refused for ${describeCaller(caller)}); it resets at ${nextMonth(now).toISOString()}`,
    };
  }

  /** The shared operation, or the local one while the Bus is unreachable (no waiting on a dead Bus per call). */
  async #shared<T>(shared: (bus: Bus) => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (this.#degraded) return local();
    try {
      return await shared(this.#bus);
    } catch (error) {
      if (!(error instanceof BusUnavailableError)) throw error;
      this.#degrade(error.message);
      return local();
    }
  }

  #degrade(reason: string): void {
    if (this.#degraded) return;
    this.#degraded = { since: this.#now(), reason };
    this.#probe = setInterval(() => void this.#recover(), this.#probeMs);
    this.#probe.unref();
  }

  /** Once the Bus answers: hand over what was counted here, then share limits again. */
  async #recover(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      await this.#bus.ping();
      // Calls counted during the hand-over land in #unshared again: loop until it is empty.
      while (this.#unshared.size > 0) {
        for (const [key, { count, ttlMs }] of [...this.#unshared]) {
          this.#unshared.delete(key);
          try {
            this.#known.set(key, await this.#bus.increment(key, { by: count, ttlMs }));
          } catch (error) {
            const since = this.#unshared.get(key)?.count ?? 0;
            this.#unshared.set(key, { count: count + since, ttlMs });
            throw error;
          }
        }
      }
      this.#degraded = undefined;
      clearInterval(this.#probe);
      this.#probe = undefined;
    } catch {
      // Still unreachable: the next probe tries again.
    } finally {
      this.#probing = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#probe);
    await this.#local.close();
  }
}
