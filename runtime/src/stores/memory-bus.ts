import {
  type Bus,
  checkBucket,
  checkLogId,
  checkTtl,
  compareLogIds,
  type LogEntry,
  type TokenBucket,
  type TokenBucketResult,
} from "@isola/schema";
import { reportHandlerError } from "./handler-error.ts";
import { type BucketState, takeFromBucket } from "./token-bucket.ts";

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export interface MemoryBusOptions {
  /** Milliseconds since the epoch; injectable so that tests control time. */
  now?: () => number;
  /** How often expired entries are swept (they are also dropped lazily on access). */
  sweepIntervalMs?: number;
  onHandlerError?: (error: unknown, channel: string) => void;
}

/**
 * The in-process Bus: the same contract as Redis for a single node. Messages are
 * delivered asynchronously (as they would arrive from Redis), never inside publish().
 */
export class MemoryBus implements Bus {
  readonly kind = "memory";
  readonly #now: () => number;
  readonly #onHandlerError: (error: unknown, channel: string) => void;
  readonly #channels = new Map<string, Set<(message: string) => void>>();
  readonly #counters = new Map<string, Expiring<number>>();
  readonly #buckets = new Map<string, Expiring<BucketState>>();
  readonly #values = new Map<string, Expiring<string>>();
  readonly #logs = new Map<string, Expiring<LogEntry[]>>();
  readonly #sweeper: NodeJS.Timeout;
  #lastId = { ms: 0, seq: 0 };
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#onHandlerError = options.onHandlerError ?? reportHandlerError;
    this.#sweeper = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? 30_000);
    this.#sweeper.unref();
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#checkOpen();
    for (const handler of this.#channels.get(channel) ?? []) {
      setImmediate(() => {
        try {
          handler(message);
        } catch (error) {
          this.#onHandlerError(error, channel);
        }
      });
    }
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    this.#checkOpen();
    // Wrap so that subscribing the same function twice yields two independent subscriptions.
    const handler = (message: string) => onMessage(message);
    const handlers = this.#channels.get(channel) ?? new Set();
    handlers.add(handler);
    this.#channels.set(channel, handlers);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.#channels.get(channel) === handlers) this.#channels.delete(channel);
    };
  }

  async increment(key: string, options: { by?: number; ttlMs: number }): Promise<number> {
    this.#checkOpen();
    const ttlMs = checkTtl(options.ttlMs);
    const current = this.#live(this.#counters, key);
    const value = (current?.value ?? 0) + (options.by ?? 1);
    this.#counters.set(key, { value, expiresAt: current?.expiresAt ?? this.#now() + ttlMs });
    return value;
  }

  async takeTokens(key: string, bucket: TokenBucket): Promise<TokenBucketResult> {
    this.#checkOpen();
    const now = this.#now();
    const take = takeFromBucket(this.#live(this.#buckets, key)?.value, now, checkBucket(bucket));
    this.#buckets.set(key, { value: take.state, expiresAt: now + take.ttlMs });
    return take.result;
  }

  async get(key: string): Promise<string | undefined> {
    this.#checkOpen();
    return this.#live(this.#values, key)?.value;
  }

  async set(key: string, value: string, options: { ttlMs: number; onlyIfAbsent?: boolean }): Promise<boolean> {
    this.#checkOpen();
    const ttlMs = checkTtl(options.ttlMs);
    if (options.onlyIfAbsent && this.#live(this.#values, key)) return false;
    this.#values.set(key, { value, expiresAt: this.#now() + ttlMs });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#checkOpen();
    for (const map of [this.#counters, this.#buckets, this.#values, this.#logs]) map.delete(key);
  }

  async append(key: string, value: string, options: { maxLength: number; ttlMs: number }): Promise<string> {
    this.#checkOpen();
    const ttlMs = checkTtl(options.ttlMs);
    const entries = this.#live(this.#logs, key)?.value ?? [];
    const id = this.#nextId();
    entries.push({ id, value });
    if (entries.length > options.maxLength) entries.splice(0, entries.length - options.maxLength);
    this.#logs.set(key, { value: entries, expiresAt: this.#now() + ttlMs });
    return id;
  }

  async readAfter(key: string, afterId?: string, limit = 1000): Promise<LogEntry[]> {
    this.#checkOpen();
    checkLogId(afterId);
    const entries = this.#live(this.#logs, key)?.value ?? [];
    const start = afterId === undefined ? 0 : entries.findIndex((e) => compareLogIds(e.id, afterId) > 0);
    return start < 0 ? [] : entries.slice(start, start + limit).map((e) => ({ ...e }));
  }

  async ping(): Promise<void> {
    this.#checkOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#channels.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("the bus is closed");
  }

  #live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  #nextId(): string {
    const ms = this.#now();
    this.#lastId = ms > this.#lastId.ms ? { ms, seq: 0 } : { ms: this.#lastId.ms, seq: this.#lastId.seq + 1 };
    return `${this.#lastId.ms}-${this.#lastId.seq}`;
  }

  #sweep(): void {
    const now = this.#now();
    for (const map of [this.#counters, this.#buckets, this.#values, this.#logs] as Map<string, Expiring<unknown>>[]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
  }
}
