import { describe, expect, it } from "vitest";
import { takeFromBucket } from "../src/stores/token-bucket.ts";

const bucket = { capacity: 10, refillPerSecond: 5, cost: 1 };

describe("takeFromBucket", () => {
  it.each([
    // [case, state before, now, cost, allowed, remaining, retryAfterMs, tokens after]
    ["a new bucket starts full", undefined, 1000, 1, true, 9, 0, 9],
    ["an empty bucket refuses and says when one token is back", { tokens: 0, atMs: 1000 }, 1000, 1, false, 0, 200, 0],
    ["refill is continuous: 100 ms at 5/s is half a token", { tokens: 0, atMs: 1000 }, 1100, 1, false, 0, 100, 0.5],
    ["refill reaches one token after 200 ms", { tokens: 0, atMs: 1000 }, 1200, 1, true, 0, 0, 0],
    ["refill stops at capacity", { tokens: 9, atMs: 0 }, 60_000, 1, true, 9, 0, 9],
    ["a cost larger than what is left is refused whole", { tokens: 2, atMs: 1000 }, 1000, 3, false, 2, 200, 2],
    ["a clock that goes backwards adds nothing", { tokens: 1, atMs: 5000 }, 4000, 1, true, 0, 0, 0],
  ] as const)("%s", (_case, state, now, cost, allowed, remaining, retryAfterMs, tokensAfter) => {
    const take = takeFromBucket(state, now, { ...bucket, cost });
    expect(take.result).toEqual({ allowed, remaining, retryAfterMs });
    expect(take.state.tokens).toBeCloseTo(tokensAfter);
    expect(take.state.atMs).toBe(now);
  });

  it("forgets a bucket only once it would be full again", () => {
    expect(takeFromBucket(undefined, 0, bucket).ttlMs).toBe(200);
    expect(takeFromBucket({ tokens: 0, atMs: 0 }, 0, bucket).ttlMs).toBe(2000);
  });
});
