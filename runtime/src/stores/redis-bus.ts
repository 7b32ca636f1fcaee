import {
  type Bus,
  BusUnavailableError,
  checkBucket,
  checkLogId,
  checkTtl,
  type LogEntry,
  type TokenBucket,
  type TokenBucketResult,
} from "@isola/schema";
import { Redis, ReplyError } from "ioredis";
import { reportHandlerError } from "./handler-error.ts";

export interface RedisBusOptions {
  url: string;
  /** Prepended to every key and channel, so that several deployments (or tests) can share one Redis. */
  prefix?: string;
  /** Per-command timeout: a Redis that hangs must not hang the request path. */
  commandTimeoutMs?: number;
  onHandlerError?: (error: unknown, channel: string) => void;
  onConnectionChange?: (state: "connected" | "disconnected", error?: Error) => void;
}

// Counter whose TTL starts when it is created. PTTL < 0: no TTL yet (a new key).
const INCREMENT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`;

// The arithmetic of ./token-bucket.ts, on Redis's clock so that every node agrees.
const TAKE_TOKENS = `
local capacity, perMs, cost = tonumber(ARGV[1]), tonumber(ARGV[2]) / 1000, tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local allowed, retry = 0, 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 else retry = math.ceil((cost - tokens) / perMs) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((capacity - tokens) / perMs)))
return { allowed, math.floor(tokens), retry }`;

interface Subscription {
  handlers: Set<(message: string) => void>;
  ready: Promise<unknown>;
}

const APPEND = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 'v', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return id`;

/**
 * The Bus over Redis (ioredis). Two connections: commands, and a subscriber.
 *
 * While Redis is unreachable every command rejects at once with BusUnavailableError
 * (no offline queue: a caller on the request path falls back instead of waiting), and
 * both connections keep reconnecting. Existing subscriptions are restored on reconnect;
 * messages published during the outage are not delivered. Without persistence a Redis
 * restart empties counters, buckets, values and logs: all short-lived by design.
 */
export class RedisBus implements Bus {
  readonly kind = "redis";
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #channels = new Map<string, Subscription>();
  readonly #onHandlerError: (error: unknown, channel: string) => void;

  private constructor(commands: Redis, subscriber: Redis, options: RedisBusOptions) {
    this.#commands = commands;
    this.#subscriber = subscriber;
    this.#prefix = options.prefix ?? "isola:";
    this.#onHandlerError = options.onHandlerError ?? reportHandlerError;
    subscriber.on("message", (channel: string, message: string) => this.#deliver(channel, message));
  }

  /** Connects both connections; rejects with BusUnavailableError when Redis cannot be reached. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const connection = (role: string) => {
      const redis = new Redis(options.url, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeoutMs ?? 2000,
        connectTimeout: 5000,
        autoResubscribe: true,
        connectionName: `isola-${role}`,
        // Keep trying forever, at most every 2 s: a node outlives a Redis restart.
        retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      });
      redis.on("error", (error) => options.onConnectionChange?.("disconnected", error));
      redis.on("ready", () => options.onConnectionChange?.("connected"));
      return redis;
    };
    const commands = connection("commands");
    const subscriber = connection("subscriber");
    // connect() rejects with a generic "Connection is closed"; the socket error says why.
    let socketError: unknown;
    const remember = (error: unknown) => {
      socketError ??= error;
    };
    commands.on("error", remember);
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (error) {
      commands.disconnect();
      subscriber.disconnect();
      const cause = socketError ?? error;
      throw new BusUnavailableError(`cannot connect to Redis: ${describe(cause)}`, { cause });
    } finally {
      commands.off("error", remember);
    }
    return new RedisBus(commands, subscriber, options);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#run(() => this.#commands.publish(this.#prefix + channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const name = this.#prefix + channel;
    let subscription = this.#channels.get(name);
    if (!subscription) {
      // Registered before SUBSCRIBE completes so that a concurrent subscriber waits for the same one.
      const created: Subscription = { handlers: new Set(), ready: this.#run(() => this.#subscriber.subscribe(name)) };
      this.#channels.set(name, created);
      created.ready.catch(() => this.#channels.get(name) === created && this.#channels.delete(name));
      subscription = created;
    }
    await subscription.ready;
    const { handlers } = subscription;
    const handler = (message: string) => onMessage(message);
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size > 0 || this.#channels.get(name) !== subscription) return;
      this.#channels.delete(name);
      // When Redis is down the channel is simply not restored on reconnect.
      await this.#run(() => this.#subscriber.unsubscribe(name)).catch(() => undefined);
    };
  }

  async increment(key: string, options: { by?: number; ttlMs: number }): Promise<number> {
    const ttlMs = checkTtl(options.ttlMs);
    const value = await this.#run(() => this.#commands.eval(INCREMENT, 1, this.#prefix + key, options.by ?? 1, ttlMs));
    return Number(value);
  }

  async takeTokens(key: string, bucket: TokenBucket): Promise<TokenBucketResult> {
    const { capacity, refillPerSecond, cost } = checkBucket(bucket);
    const reply = (await this.#run(() =>
      this.#commands.eval(TAKE_TOKENS, 1, this.#prefix + key, capacity, refillPerSecond, cost),
    )) as [number, number, number];
    return { allowed: reply[0] === 1, remaining: reply[1], retryAfterMs: reply[2] };
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#run(() => this.#commands.get(this.#prefix + key))) ?? undefined;
  }

  async set(key: string, value: string, options: { ttlMs: number; onlyIfAbsent?: boolean }): Promise<boolean> {
    const ttlMs = checkTtl(options.ttlMs);
    const k = this.#prefix + key;
    const reply = await this.#run(() =>
      options.onlyIfAbsent
        ? this.#commands.set(k, value, "PX", ttlMs, "NX")
        : this.#commands.set(k, value, "PX", ttlMs),
    );
    return reply === "OK";
  }

  async delete(key: string): Promise<void> {
    await this.#run(() => this.#commands.del(this.#prefix + key));
  }

  async append(key: string, value: string, options: { maxLength: number; ttlMs: number }): Promise<string> {
    const ttlMs = checkTtl(options.ttlMs);
    return String(
      await this.#run(() => this.#commands.eval(APPEND, 1, this.#prefix + key, value, options.maxLength, ttlMs)),
    );
  }

  async readAfter(key: string, afterId?: string, limit = 1000): Promise<LogEntry[]> {
    checkLogId(afterId);
    const start = afterId === undefined ? "-" : `(${afterId}`;
    const rows = await this.#run(() => this.#commands.xrange(this.#prefix + key, start, "+", "COUNT", limit));
    return rows.map(([id, fields]) => ({ id, value: fields[1] ?? "" }));
  }

  async ping(): Promise<void> {
    await this.#run(() => this.#commands.ping());
  }

  async close(): Promise<void> {
    this.#channels.clear();
    await Promise.allSettled([this.#commands.quit(), this.#subscriber.quit()]);
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  #deliver(channel: string, message: string): void {
    for (const handler of this.#channels.get(channel)?.handlers ?? []) {
      try {
        handler(message);
      } catch (error) {
        this.#onHandlerError(error, channel.slice(this.#prefix.length));
      }
    }
  }

  /** Runs a command; anything but an error reply from Redis itself means Redis is unreachable. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (error instanceof ReplyError) throw error;
      throw new BusUnavailableError(`Redis is unavailable: ${describe(error)}`, { cause: error });
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(describe).join("; ");
  return error instanceof Error ? error.message : String(error);
}
