/**
 * Values loaded on demand that expire, in a bounded map. When reloading an expired value fails
 * (the database is restarting), the old value is served for up to `staleForMs` more, and the
 * next reload is tried only after `retryMs`: a warm server keeps answering through a database
 * outage instead of failing every call on a query that cannot succeed. Serving it is safe for
 * what the runtime caches (servers, API keys): nothing can change them while the database is
 * away, and once it is back the bus's announcements invalidate entries at once.
 */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number; staleUntil: number }>();
  readonly #maxEntries: number;
  readonly #staleForMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;

  constructor(options: { maxEntries: number; staleForMs?: number; retryMs?: number; now?: () => number }) {
    this.#maxEntries = options.maxEntries;
    this.#staleForMs = options.staleForMs ?? 10 * 60_000;
    this.#retryMs = options.retryMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached value of `key`, or `load()`'s, kept for `ttlMs(value)`. */
  async get(key: string, load: () => Promise<V>, ttlMs: (value: V) => number): Promise<V> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt > now) return entry.value;
    let value: V;
    try {
      value = await load();
    } catch (error) {
      if (!entry || entry.staleUntil <= now) throw error;
      entry.expiresAt = now + this.#retryMs;
      return entry.value;
    }
    // Bounded: a cache that grows with every unknown key would be its own flood.
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    const expiresAt = now + ttlMs(value);
    this.#entries.set(key, { value, expiresAt, staleUntil: expiresAt + this.#staleForMs });
    return value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops the entries `drop` picks. */
  deleteWhere(drop: (key: string, value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (drop(key, entry.value)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
