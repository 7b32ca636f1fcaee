import type { TenantIsolate } from "./tenant-isolate.ts";

export interface PoolOptions {
  /** At most this many warm isolates per shard. */
  maxIsolates: number;
  /** Evict least recently used idle isolates while their heaps add up to more than this. */
  maxHeapBytes: number;
  /** An isolate unused this long is released. */
  idleMs: number;
}

export const DEFAULT_POOL: PoolOptions = { maxIsolates: 1000, maxHeapBytes: 2 * 1024 ** 3, idleMs: 10 * 60_000 };

/**
 * Warm isolates by key, least recently used first out. Concurrent first calls for the same
 * key share one load. Only idle isolates are evicted: a running call keeps its isolate.
 */
export class IsolatePool {
  readonly #options: PoolOptions;
  readonly #isolates = new Map<string, TenantIsolate>();
  readonly #loading = new Map<string, Promise<TenantIsolate>>();
  #heapBytes = 0;

  constructor(options: Partial<PoolOptions> = {}) {
    this.#options = { ...DEFAULT_POOL, ...options };
  }

  get size(): number {
    return this.#isolates.size;
  }

  get heapBytes(): number {
    return this.#heapBytes;
  }

  async acquire(key: string, create: () => Promise<TenantIsolate>): Promise<TenantIsolate> {
    const warm = this.#isolates.get(key);
    if (warm && !warm.disposed) {
      // Re-insert: Map order is the LRU order.
      this.#isolates.delete(key);
      this.#isolates.set(key, warm);
      return warm;
    }
    if (warm) this.#isolates.delete(key);
    const pending = this.#loading.get(key);
    if (pending) return pending;
    const loading = create().finally(() => this.#loading.delete(key));
    this.#loading.set(key, loading);
    const isolate = await loading;
    this.#isolates.set(key, isolate);
    this.#enforce();
    return isolate;
  }

  /** Releases every isolate whose key starts with `prefix` once it is idle (a new version replaced it). */
  evict(prefix: string): void {
    for (const [key, isolate] of this.#isolates) {
      if (key.startsWith(prefix) && isolate.activeCalls === 0) {
        isolate.dispose();
        this.#isolates.delete(key);
      }
    }
  }

  /** Measures heaps, drops disposed and idle isolates, and keeps within the budget. */
  sweep(now = Date.now()): void {
    this.#heapBytes = 0;
    for (const [key, isolate] of this.#isolates) {
      if (isolate.disposed || (isolate.activeCalls === 0 && now - isolate.lastUsed > this.#options.idleMs)) {
        isolate.dispose();
        this.#isolates.delete(key);
      } else {
        this.#heapBytes += isolate.heapBytes();
      }
    }
    this.#enforce();
  }

  #enforce(): void {
    for (const [key, isolate] of this.#isolates) {
      const over = this.#isolates.size > this.#options.maxIsolates || this.#heapBytes > this.#options.maxHeapBytes;
      if (!over) break;
      if (isolate.activeCalls > 0) continue;
      this.#heapBytes -= isolate.heapBytes();
      isolate.dispose();
      this.#isolates.delete(key);
    }
  }

  close(): void {
    for (const isolate of this.#isolates.values()) isolate.dispose();
    this.#isolates.clear();
  }
}
