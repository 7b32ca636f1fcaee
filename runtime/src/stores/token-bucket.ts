import type { TokenBucketResult } from "@isola/schema";

/** A bucket's stored state: tokens (fractional) as of `atMs`. */
export interface BucketState {
  tokens: number;
  atMs: number;
}

/**
 * One take from a continuously refilling bucket. Pure: the in-process bus calls it with
 * its clock; the Redis bus runs the same arithmetic in a Lua script with Redis's clock.
 * A missing state is a full bucket.
 */
export function takeFromBucket(
  state: BucketState | undefined,
  nowMs: number,
  bucket: { capacity: number; refillPerSecond: number; cost: number },
): { state: BucketState; result: TokenBucketResult; ttlMs: number } {
  const perMs = bucket.refillPerSecond / 1000;
  const elapsed = state ? Math.max(0, nowMs - state.atMs) : 0;
  const available = Math.min(bucket.capacity, (state?.tokens ?? bucket.capacity) + elapsed * perMs);
  const allowed = available >= bucket.cost;
  const tokens = allowed ? available - bucket.cost : available;
  return {
    state: { tokens, atMs: nowMs },
    result: {
      allowed,
      remaining: Math.floor(tokens),
      retryAfterMs: allowed ? 0 : Math.ceil((bucket.cost - tokens) / perMs),
    },
    // Once the bucket would be full again, forgetting it changes nothing.
    ttlMs: Math.max(1, Math.ceil((bucket.capacity - tokens) / perMs)),
  };
}
