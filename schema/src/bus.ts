/**
 * The Bus: what nodes share that is short-lived. Two implementations with one contract:
 * in-process (a single node) and Redis (a fleet). Everything in it may be lost on a
 * Redis restart without losing data that matters: that lives in Postgres.
 *
 * Keys and channels are plain strings; each key is used with one kind of operation
 * (a counter key is never read with `get`). Every stored value has a TTL or a cap,
 * so nothing grows without bound.
 */
export interface Bus {
  readonly kind: "memory" | "redis";

  /** Delivers `message` to every current subscriber of `channel` on every node, at most once. */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `onMessage` for each message published on `channel` from now on. Resolves to an unsubscribe function. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;

  /** Adds `by` (default 1) to a counter and returns the new value. The TTL starts when the counter is created. */
  increment(key: string, options: { by?: number; ttlMs: number }): Promise<number>;
  /** Takes `cost` (default 1) tokens from a bucket that refills continuously; idle buckets expire once full. */
  takeTokens(key: string, bucket: TokenBucket): Promise<TokenBucketResult>;

  /** A short-lived value. */
  get(key: string): Promise<string | undefined>;
  /** Stores a value for `ttlMs`. With `onlyIfAbsent`, stores only when the key is absent. Returns whether it stored. */
  set(key: string, value: string, options: { ttlMs: number; onlyIfAbsent?: boolean }): Promise<boolean>;
  delete(key: string): Promise<void>;

  /** Appends to a capped log (oldest entries dropped past `maxLength`) and returns the new entry's id. */
  append(key: string, value: string, options: { maxLength: number; ttlMs: number }): Promise<string>;
  /** Entries after `afterId` (all when undefined), oldest first, at most `limit` (default 1000). */
  readAfter(key: string, afterId?: string, limit?: number): Promise<LogEntry[]>;

  /** Resolves when the bus is reachable; rejects with BusUnavailableError when not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
  cost?: number;
}

export interface TokenBucketResult {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When not allowed: how long until `cost` tokens are available. 0 when allowed. */
  retryAfterMs: number;
}

/** Ids are `<milliseconds>-<sequence>` (as in Redis streams) and increase within a key. */
export interface LogEntry {
  id: string;
  value: string;
}

export const LOG_ENTRY_ID = /^\d{1,15}-\d{1,15}$/;

export class BusError extends Error {
  override name = "BusError";
  readonly code: "BUS_UNAVAILABLE" | "BUS_INVALID_ARGUMENT";
  constructor(code: BusError["code"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The bus cannot be reached right now (Redis down or restarting). Callers may fall back or fail. */
export class BusUnavailableError extends BusError {
  override name = "BusUnavailableError";
  constructor(message: string, options?: ErrorOptions) {
    super("BUS_UNAVAILABLE", message, options);
  }
}

/** Checks the arguments every implementation must refuse the same way. */
export function checkBucket(bucket: TokenBucket): Required<TokenBucket> {
  const cost = bucket.cost ?? 1;
  const ok =
    Number.isFinite(bucket.capacity) &&
    bucket.capacity > 0 &&
    Number.isFinite(bucket.refillPerSecond) &&
    bucket.refillPerSecond > 0 &&
    Number.isFinite(cost) &&
    cost > 0 &&
    cost <= bucket.capacity;
  if (!ok) {
    throw new BusError(
      "BUS_INVALID_ARGUMENT",
      "token bucket needs capacity > 0, refillPerSecond > 0, 0 < cost <= capacity",
    );
  }
  return { capacity: bucket.capacity, refillPerSecond: bucket.refillPerSecond, cost };
}

export function checkTtl(ttlMs: number): number {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new BusError("BUS_INVALID_ARGUMENT", `ttlMs must be a positive integer, got ${ttlMs}`);
  }
  return ttlMs;
}

export function checkLogId(id: string | undefined): void {
  if (id !== undefined && !LOG_ENTRY_ID.test(id)) {
    throw new BusError("BUS_INVALID_ARGUMENT", `not a log entry id: ${JSON.stringify(id).slice(0, 40)}`);
  }
}

/** Orders two log entry ids. */
export function compareLogIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split("-").map(Number);
  const [bMs = 0, bSeq = 0] = b.split("-").map(Number);
  return aMs - bMs || aSeq - bSeq;
}
