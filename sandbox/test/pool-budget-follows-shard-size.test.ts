import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  type MemoryReading,
  nextPoolBudget,
  type PoolBudgetBounds,
  poolBudgetBounds,
  poolHeapBudget,
} from "../src/host/shard-memory.ts";
import { type Harness, idOnShard, serverSource, startHarness } from "./support/sandbox-harness.ts";

const MiB = 1024 ** 2;
const SHARD_WITH_BALLAST = fileURLToPath(new URL("./support/shard-with-ballast.ts", import.meta.url));

// Round figures, so that each row says what it tests: recycle at 1,000 MiB.
const bounds: PoolBudgetBounds = {
  floor: 100 * MiB,
  ceiling: 600 * MiB,
  holdAboveRss: 900 * MiB,
  shrinkAboveRss: 950 * MiB,
  risingBytes: 10 * MiB,
  growStep: 20 * MiB,
};
const reading = (rss: number, heap: number, shrunkAtRss: number): MemoryReading => ({
  rssBytes: rss * MiB,
  heapBytes: heap * MiB,
  shrunkAtRssBytes: shrunkAtRss * MiB,
});

describe("the pool's budget, adjusted to the shard's measured size", () => {
  it.each([
    // [case, budget, rss, heap, rss at the last shrink (0: none yet), next budget] (MiB)
    ["a full pool with room grows back by a step", 400, 700, 390, 0, 420],
    ["a full pool grows back to the ceiling, no further", 590, 700, 590, 0, 600],
    ["a pool at the ceiling stays there", 600, 700, 600, 0, 600],
    ["a pool not full keeps its budget: unused budget says nothing of its cost", 400, 700, 200, 0, 400],
    ["near the threshold the budget holds", 400, 920, 400, 0, 400],
    ["past the shrink line for the first time: shrinks to 90% of the budget", 400, 960, 400, 0, 360],
    ["climbing with heaps under the budget: shrinks to 90% of the heaps", 400, 970, 300, 0, 270],
    ["flat since the last shrink: held (freed memory is reused, not returned)", 360, 962, 360, 960, 360],
    ["a slow climb, 1% of the threshold past the last shrink: shrinks again", 360, 971, 360, 960, 324],
    ["past the shrink line, lower than at the last shrink: held", 360, 955, 360, 990, 360],
    ["never under the floor", 105, 990, 105, 970, 100],
    ["a budget under the floor is raised to it", 50, 990, 50, 990, 100],
  ])("%s", (_case, budget, rss, heap, shrunkAtRss, next) => {
    expect(nextPoolBudget(budget * MiB, reading(rss, heap, shrunkAtRss), bounds)).toBe(next * MiB);
  });

  it("starts at the fixed estimate, its ceiling, above its floor", () => {
    for (const threshold of [256 * MiB, 1536 * MiB, 8192 * MiB]) {
      const start = poolHeapBudget(threshold);
      const derived = poolBudgetBounds(threshold);
      expect(derived.floor).toBeLessThan(start);
      expect(derived.ceiling).toBe(start);
      expect(derived.holdAboveRss).toBeLessThan(derived.shrinkAboveRss);
      expect(derived.shrinkAboveRss).toBeLessThan(threshold);
    }
  });
});

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

async function until<T>(read: () => T, done: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a shard's pool budget", () => {
  // Fast sweeps, and no recycle while the test runs: the pool alone answers for the shard's size.
  const options = { heartbeatIntervalMs: 50, poolSweepIntervalMs: 100, minRecycleAgeMs: 600_000 };

  it("keeps a full shard with room at its first estimate, never more, and under the recycle threshold", async () => {
    const recycleShardRssBytes = 384 * MiB;
    const start = poolHeapBudget(recycleShardRssBytes);
    harness = await startHarness({ ...options, recycleShardRssBytes });
    const first = await harness.deploy(idOnShard("full", 0, 2), serverSource({ echo: "return 'hi';" }));
    // More servers than the first estimate holds (an isolate of this server: ~3 MiB of heap).
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 70; i++) await harness.call({ id: idOnShard(`full-${i}`, 0, 2), hash: first.hash }, "echo");
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // 10 sweeps
    const shard = harness.supervisor.shards()[0];
    expect(shard?.pool?.maxHeapBytes).toBe(start);
    expect(shard?.pool?.isolates).toBeLessThan(70);
    expect(shard?.rssBytes).toBeLessThan(recycleShardRssBytes);
  });

  it("shrinks while memory it does not count climbs past the shrink line, then holds", async () => {
    // A shard with 20 warm servers (~240 MB) under the hold line; the ballast takes it past the threshold.
    const recycleShardRssBytes = 320 * MiB;
    const start = poolHeapBudget(recycleShardRssBytes);
    const derived = poolBudgetBounds(recycleShardRssBytes);
    harness = await startHarness({ ...options, recycleShardRssBytes, entry: SHARD_WITH_BALLAST });
    const first = await harness.deploy(idOnShard("shrink", 0, 2), serverSource({ echo: "return 'hi';" }));
    const shard = () => harness.supervisor.shards()[0];
    for (let i = 0; i < 20; i++) await harness.call({ id: idOnShard(`shrink-${i}`, 0, 2), hash: first.hash }, "echo");
    const before = await until(shard, (s) => (s?.pool?.isolates ?? 0) === 20, "the 20 servers warm");
    expect(before?.pool?.maxHeapBytes).toBeGreaterThanOrEqual(start);

    process.kill(before?.pid as number, "SIGUSR2"); // 160 MiB the pool does not count, over 1 s
    const shrunk = await until(shard, (s) => (s?.pool?.maxHeapBytes ?? start) < start, "the budget to shrink");
    // Once the size stops climbing the budget holds where it got to: no ratchet down to the floor.
    await until(shard, (s) => (s?.rssBytes ?? 0) > 250 * MiB, "the ballast to be in");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const settled = shard()?.pool?.maxHeapBytes ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // 15 sweeps
    expect(shard()?.pool?.maxHeapBytes).toBe(settled);
    expect(settled).toBeLessThan(start);
    expect(settled).toBeGreaterThanOrEqual(derived.floor);
    expect(shrunk?.pool?.isolates).toBeLessThanOrEqual(before?.pool?.isolates ?? 0);
    expect(shard()?.pool?.isolates).toBeLessThan(before?.pool?.isolates ?? 0);
    // Evicted, the pool still serves: the next call loads again.
    expect(await harness.call({ id: idOnShard("shrink-0", 0, 2), hash: first.hash }, "echo")).toEqual({
      content: [{ type: "text", text: "hi" }],
    });
    expect(harness.events.filter((e) => e.type === "shard-recycle")).toEqual([]);
  });
});
