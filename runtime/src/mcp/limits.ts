import { type Bus, BusUnavailableError, type TokenBucketResult } from "@isola/schema";
import { MemoryBus } from "../stores/memory-bus.ts";

export type LimitCheck =
  | { ok: true }
  | { ok: false; limit: "rate" | "quota"; retryAfterSeconds: number; message: string };

/** A bucket holding a minute's worth of calls, refilled continuously. */
export function perMinute(callsPerMinute: number) {
  return { capacity: Math.max(1, callsPerMinute), refillPerSecond: Math.max(callsPerMinute, 1) / 60 };
}

/** Seconds until the first of next month (UTC), when a monthly quota resets. */
export function secondsToNextMonth(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.ceil((next - now.getTime()) / 1000);
}

/**
 * Rate limits and monthly quotas, shared through the Bus so that they hold across nodes. If the
 * Bus (Redis) is unreachable, each node falls back to limits of its own (so a node still refuses
 * floods), and says so: `degradedSince` feeds /readyz and metrics.
 */
export class Limits {
  readonly #bus: Bus;
  readonly #local = new MemoryBus();
  readonly #now: () => Date;
  degradedSince: Date | undefined;

  constructor(bus: Bus, now: () => Date = () => new Date()) {
    this.#bus = bus;
    this.#now = now;
  }

  async #shared<T>(operation: (bus: Bus) => Promise<T>): Promise<T> {
    try {
      const value = await operation(this.#bus);
      this.degradedSince = undefined;
      return value;
    } catch (error) {
      if (!(error instanceof BusUnavailableError)) throw error;
      this.degradedSince ??= this.#now();
      return operation(this.#local);
    }
  }

  async rate(key: string, callsPerMinute: number): Promise<LimitCheck> {
    const taken: TokenBucketResult = await this.#shared((bus) =>
      bus.takeTokens(`rl:${key}`, perMinute(callsPerMinute)),
    );
    if (taken.allowed) return { ok: true };
    const retryAfterSeconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    return {
      ok: false,
      limit: "rate",
      retryAfterSeconds,
      message: `rate limit of ${callsPerMinute} calls per minute exceeded`,
    };
  }

  /** Counts a tool call against the org's month; refuses past `callsPerMonth`. */
  async quota(orgId: string, callsPerMonth: number): Promise<LimitCheck> {
    const now = this.#now();
    const month = now.toISOString().slice(0, 7);
    const used = await this.#shared((bus) =>
      bus.increment(`quota:${orgId}:${month}`, { ttlMs: (secondsToNextMonth(now) + 86_400) * 1000 }),
    );
    if (used <= callsPerMonth) return { ok: true };
    return {
      ok: false,
      limit: "quota",
      retryAfterSeconds: secondsToNextMonth(now),
      message: `monthly quota of ${callsPerMonth} tool calls used up; it resets on the first of next month (UTC)`,
    };
  }

  async close(): Promise<void> {
    await this.#local.close();
  }
}
