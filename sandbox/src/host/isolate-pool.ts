import { DEFAULT_RECYCLE_SHARD_RSS_BYTES, poolHeapBudget } from "./shard-memory.ts";
import type { TenantIsolate } from "./tenant-isolate.ts";

export interface PoolOptions {
  /** At most this many warm isolates per shard. */
  maxIsolates: number;
  /**
   * Evict least recently used idle isolates while their heaps add up to more than this. A
   * shard's pool gets it from the supervisor, below the shard's recycle threshold (shard-memory.ts).
   */
  maxHeapBytes: number;
  /** An isolate unused this long is released. */
  idleMs: number;
}

/** Isolates whose heaps are re-measured per sweep. */
const SWEEP_SLICE = 50;

export const DEFAULT_POOL: PoolOptions = {
  maxIsolates: 1000,
  maxHeapBytes: poolHeapBudget(DEFAULT_RECYCLE_SHARD_RSS_BYTES),
  idleMs: 10 * 60_000,
};

/**
 * Warm isolates by key, least recently used first out. Concurrent first calls for the same
 * key share one load. acquire() leases the isolate until release(): a leased isolate is never
 * evicted, so a call cannot lose its isolate between getting it and starting.
 */
export class IsolatePool {
  readonly #options: PoolOptions;
  readonly #isolates = new Map<string, TenantIsolate>();
  readonly #loading = new Map<string, Promise<TenantIsolate>>();
  /** The last measured heap of each isolate; their sum is #heapBytes. */
  readonly #sizes = new WeakMap<TenantIsolate, number>();
  readonly #leases = new Map<TenantIsolate, number>();
  #heapBytes = 0;
  #cursor = 0;

  constructor(options: Partial<PoolOptions> = {}) {
    this.#options = { ...DEFAULT_POOL, ...options };
  }

  get size(): number {
    return this.#isolates.size;
  }

  get heapBytes(): number {
    return this.#heapBytes;
  }

  get maxHeapBytes(): number {
    return this.#options.maxHeapBytes;
  }

  /** A new budget, kept from the next load or sweep on (the shard adjusts it to its measured size). */
  set maxHeapBytes(bytes: number) {
    this.#options.maxHeapBytes = bytes;
  }

  async acquire(key: string, create: () => Promise<TenantIsolate>): Promise<TenantIsolate> {
    const warm = this.#isolates.get(key);
    if (warm && !warm.disposed) {
      // Re-insert: Map order is the LRU order.
      this.#isolates.delete(key);
      this.#isolates.set(key, warm);
      return this.#lease(warm);
    }
    if (warm) this.#isolates.delete(key);
    const pending = this.#loading.get(key);
    if (pending) return this.#lease(await pending);
    const loading = create().finally(() => this.#loading.delete(key));
    this.#loading.set(key, loading);
    const isolate = this.#lease(await loading);
    this.#isolates.set(key, isolate);
    this.#measure(isolate);
    this.#enforce();
    return isolate;
  }

  #lease(isolate: TenantIsolate): TenantIsolate {
    this.#leases.set(isolate, (this.#leases.get(isolate) ?? 0) + 1);
    return isolate;
  }

  /** Ends a lease from acquire(); the isolate may be evicted once it has none left. */
  release(isolate: TenantIsolate): void {
    const count = (this.#leases.get(isolate) ?? 1) - 1;
    if (count > 0) this.#leases.set(isolate, count);
    else this.#leases.delete(isolate);
  }

  #evictable(isolate: TenantIsolate): boolean {
    return isolate.activeCalls === 0 && !this.#leases.has(isolate);
  }

  /** Releases every isolate whose key starts with `prefix` once it is idle (a new version replaced it). */
  evict(prefix: string): void {
    for (const [key, isolate] of this.#isolates) {
      if (key.startsWith(prefix) && this.#evictable(isolate)) this.#forget(key, isolate);
    }
  }

  /**
   * Drops disposed and idle isolates, re-measures a slice of the heaps (measuring all of
   * them at once would stall the shard for milliseconds at a thousand isolates), and keeps
   * within the budget.
   */
  sweep(now = Date.now()): void {
    let measured = 0;
    for (const [key, isolate] of this.#isolates) {
      if (isolate.disposed || (this.#evictable(isolate) && now - isolate.lastUsed > this.#options.idleMs)) {
        this.#forget(key, isolate);
      } else if (this.#cursor <= measured && measured < this.#cursor + SWEEP_SLICE) {
        this.#measure(isolate);
      }
      measured++;
    }
    this.#cursor = this.#cursor + SWEEP_SLICE >= this.#isolates.size ? 0 : this.#cursor + SWEEP_SLICE;
    this.#enforce();
  }

  #measure(isolate: TenantIsolate): void {
    const bytes = isolate.heapBytes();
    this.#heapBytes += bytes - (this.#sizes.get(isolate) ?? 0);
    this.#sizes.set(isolate, bytes);
  }

  #forget(key: string, isolate: TenantIsolate): void {
    this.#heapBytes -= this.#sizes.get(isolate) ?? 0;
    this.#sizes.delete(isolate);
    isolate.dispose();
    this.#isolates.delete(key);
  }

  #enforce(): void {
    for (const [key, isolate] of this.#isolates) {
      const over = this.#isolates.size > this.#options.maxIsolates || this.#heapBytes > this.#options.maxHeapBytes;
      if (!over) break;
      if (this.#evictable(isolate)) this.#forget(key, isolate);
    }
  }

  close(): void {
    for (const isolate of this.#isolates.values()) isolate.dispose();
    this.#isolates.clear();
  }
}
