// How much memory a shard may use, and how much of it its isolate pool may fill. The pool
// must start evicting idle isolates well before the supervisor recycles the shard: a recycle
// makes every server on the shard cold at once, an eviction only the least recently used one.

const MiB = 1024 ** 2;

/** A shard over this resident size is killed at once (a memory bomb got past the heap limit). */
export const DEFAULT_MAX_SHARD_RSS_BYTES = 3 * 1024 ** 3;
/** A shard over this resident size is replaced gracefully (freed isolate memory rarely goes back to the OS). */
export const DEFAULT_RECYCLE_SHARD_RSS_BYTES = 1.5 * 1024 ** 3;

/** Resident size of a shard with an empty pool (Node, isolated-vm, the guest runtime's snapshot): ~106 MiB measured. */
export const SHARD_BASE_RSS_BYTES = 128 * MiB;
/**
 * Resident bytes per byte of isolate heap the pool counts. Measured with examples/hello
 * (3.0 MiB of heap, 3.8 MiB resident per isolate): 1.27 while the pool only grows; 1.59 once
 * it evicts and loads in turn, creeping to 1.63 and flat after six rounds through every
 * isolate (freed isolate memory is not all reused, and a new isolate is counted before its
 * first call).
 */
export const RSS_PER_HEAP_BYTE = 1.65;
/**
 * The share of the room above the base that a full pool may take. The rest covers what the
 * pool's count lags behind: heaps grow between re-measurements (a slice every sweep) and
 * leased isolates cannot be evicted. At the default threshold: 725 MiB of heap, ~245 warm
 * servers of examples/hello's size, ~1.26 GiB resident once the pool has turned over.
 */
export const POOL_SHARE_OF_ROOM = 0.85;

/** The isolate pool's heap budget for a shard recycled past `recycleShardRssBytes`: where it starts. */
export function poolHeapBudget(recycleShardRssBytes: number): number {
  const room = recycleShardRssBytes - SHARD_BASE_RSS_BYTES;
  return Math.max(0, Math.floor((room * POOL_SHARE_OF_ROOM) / RSS_PER_HEAP_BYTE));
}

/**
 * Where the budget may move as the shard measures its own resident size. The ratio above is
 * a guess from one server shape: servers with bigger results or hot loops take more resident
 * memory per heap byte, and a shard whose pool fills to a fixed budget then crosses the recycle
 * threshold (measured under load: every 1-3 minutes). So the shard holds its pool while its
 * size is near the threshold, shrinks it as the size still climbs, and lets a full pool grow back
 * while there is room, never past the first estimate: in the soak bench a budget allowed to grow
 * past it (to what the ratio while a pool only grows allows) crept the shards to their threshold.
 */
export interface PoolBudgetBounds {
  floor: number;
  ceiling: number;
  /** At or above this resident size the budget stops growing. */
  holdAboveRss: number;
  /** At or above this size, and more than `risingBytes` above the size at the last shrink, the budget shrinks. */
  shrinkAboveRss: number;
  /** Less than this is churn: under load a shard's size swings by tens of MB either way. */
  risingBytes: number;
  /** How much the budget grows per adjustment while there is room. */
  growStep: number;
}

/** Freed isolate memory mostly stays with the process, so shrinking is for a size still climbing only. */
const SHRINK_FACTOR = 0.9;
/** A pool whose heaps take this share of its budget is full: it evicts to load. */
const FULL_SHARE = 0.9;

export function poolBudgetBounds(recycleShardRssBytes: number): PoolBudgetBounds {
  const start = poolHeapBudget(recycleShardRssBytes);
  return {
    floor: Math.floor(start / 4),
    ceiling: start,
    holdAboveRss: 0.9 * recycleShardRssBytes,
    shrinkAboveRss: 0.95 * recycleShardRssBytes,
    risingBytes: 0.01 * recycleShardRssBytes,
    growStep: Math.floor(start / 20),
  };
}

export interface MemoryReading {
  rssBytes: number;
  /** The pool's measured heaps. */
  heapBytes: number;
  /**
   * The resident size when the budget last shrank (0 before): a slow climb shrinks it again
   * once it has gone `risingBytes` further, a flat size never.
   */
  shrunkAtRssBytes: number;
}

/** The pool's next heap budget (one adjustment per sweep). */
export function nextPoolBudget(budget: number, reading: MemoryReading, bounds: PoolBudgetBounds): number {
  const { rssBytes, heapBytes, shrunkAtRssBytes } = reading;
  if (rssBytes >= bounds.shrinkAboveRss && rssBytes - shrunkAtRssBytes > bounds.risingBytes) {
    return Math.max(bounds.floor, Math.floor(Math.min(budget, heapBytes) * SHRINK_FACTOR));
  }
  // Grown only when full: a budget the pool does not use says nothing about what it would cost.
  const full = heapBytes >= FULL_SHARE * budget;
  if (rssBytes >= bounds.holdAboveRss || !full) return Math.min(bounds.ceiling, Math.max(bounds.floor, budget));
  return Math.min(bounds.ceiling, Math.max(bounds.floor, budget + bounds.growStep));
}
