// Latency histograms with fixed bucket bounds (ms): the same buckets everywhere, so that
// minutes add up into any step and percentiles come from the sums. Pure.

/** Upper bounds of the buckets, in milliseconds; the last bucket holds everything slower. */
export const LATENCY_BOUNDS_MS = [
  1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000,
  15_000, 20_000, 30_000, 60_000,
] as const;
export const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export function emptyHistogram(): number[] {
  return new Array(BUCKETS).fill(0);
}

export function bucketOf(ms: number): number {
  const index = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return index < 0 ? LATENCY_BOUNDS_MS.length : index;
}

export function addInto(target: number[], source: readonly number[]): number[] {
  for (let i = 0; i < BUCKETS; i++) target[i] = (target[i] ?? 0) + (source[i] ?? 0);
  return target;
}

/**
 * The q-quantile (0..1) estimated from a histogram: the upper bound of the bucket holding that
 * rank, interpolated linearly within the bucket. Null for an empty histogram.
 */
export function quantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const count = histogram[i] ?? 0;
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] as number);
      const upper = LATENCY_BOUNDS_MS[i] ?? (LATENCY_BOUNDS_MS.at(-1) as number) * 2;
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return LATENCY_BOUNDS_MS.at(-1) as number;
}
