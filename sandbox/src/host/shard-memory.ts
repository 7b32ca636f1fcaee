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

/** The isolate pool's heap budget for a shard recycled past `recycleShardRssBytes`. */
export function poolHeapBudget(recycleShardRssBytes: number): number {
  const room = recycleShardRssBytes - SHARD_BASE_RSS_BYTES;
  return Math.max(0, Math.floor((room * POOL_SHARE_OF_ROOM) / RSS_PER_HEAP_BYTE));
}
