import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_POOL } from "../src/host/isolate-pool.ts";
import { DEFAULT_RECYCLE_SHARD_RSS_BYTES, poolHeapBudget, SHARD_BASE_RSS_BYTES } from "../src/host/shard-memory.ts";
import { type Harness, idOnShard, serverSource, startHarness } from "./support/sandbox-harness.ts";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

// Measured with examples/hello in one shard-like process (Node 24, isolated-vm 7): ~106 MiB
// with no isolate; 3.0 MiB of counted heap and 3.8 MiB resident per isolate, 1.59-1.63
// resident bytes per heap byte once the pool evicts and loads in turn.
const MEASURED_BASE = 106 * MiB;
const MEASURED_RSS_PER_HEAP_BYTE = 1.63;
/** What a shard holds once its pool is full to its budget. */
const residentWhenFull = (heapBudget: number) => MEASURED_BASE + heapBudget * MEASURED_RSS_PER_HEAP_BYTE;

describe("the pool's heap budget", () => {
  it("fills a shard to well under its recycle threshold by default, so eviction comes first", () => {
    // Before: a fixed 2 GiB of heap (~3.4 GiB resident) against a 1.5 GiB threshold.
    expect(DEFAULT_POOL.maxHeapBytes).toBe(poolHeapBudget(DEFAULT_RECYCLE_SHARD_RSS_BYTES));
    expect(residentWhenFull(DEFAULT_POOL.maxHeapBytes)).toBeLessThan(0.9 * DEFAULT_RECYCLE_SHARD_RSS_BYTES);
    // And still holds a few hundred warm servers of ~3 MiB.
    expect(DEFAULT_POOL.maxHeapBytes / (3 * MiB)).toBeGreaterThan(200);
  });

  it.each([
    ["256 MiB", 256 * MiB],
    ["512 MiB", 512 * MiB],
    ["1.5 GiB (default)", 1.5 * GiB],
    ["4 GiB", 4 * GiB],
    ["16 GiB", 16 * GiB],
  ])("stays under a recycle threshold of %s with room to spare", (_name, threshold) => {
    const budget = poolHeapBudget(threshold);
    expect(budget).toBeGreaterThan(0);
    expect(residentWhenFull(budget)).toBeLessThan(0.9 * threshold);
  });

  it.each([
    ["1 byte", 1],
    ["the shard's own size", SHARD_BASE_RSS_BYTES],
    ["a negative number", -1],
  ])("is zero for a threshold of %s: only leased isolates stay", (_name, threshold) => {
    expect(poolHeapBudget(threshold)).toBe(0);
  });

  it("grows with the threshold", () => {
    const thresholds = [200, 400, 800, 1600, 3200].map((n) => n * MiB);
    const budgets = thresholds.map((threshold) => poolHeapBudget(threshold));
    expect(budgets).toEqual([...budgets].sort((a, b) => a - b));
    expect(new Set(budgets).size).toBe(budgets.length);
  });
});

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

describe("a shard's pool", () => {
  it("evicts within the budget its supervisor derives from the recycle threshold", async () => {
    const recycleShardRssBytes = 160 * MiB;
    const budget = poolHeapBudget(recycleShardRssBytes);
    harness = await startHarness({ recycleShardRssBytes, heartbeatIntervalMs: 50 });
    const servers = 16;
    const first = await harness.deploy(idOnShard("budget", 0, 2), serverSource({ echo: "return 'hi';" }));
    for (let i = 0; i < servers; i++) {
      const server = { id: idOnShard(`budget-${i}`, 0, 2), hash: first.hash };
      expect(await harness.call(server, "echo")).toEqual({ content: [{ type: "text", text: "hi" }] });
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few heartbeats
    const [shard] = harness.supervisor.shards();
    expect(shard?.pool?.maxHeapBytes).toBe(budget);
    // An isolate of this server holds more than 2 MiB of heap; the last one loaded may be over until the next sweep.
    expect(shard?.pool?.isolates).toBeLessThanOrEqual(Math.floor(budget / (2 * MiB)) + 1);
    expect(shard?.pool?.isolates).toBeLessThan(servers);
    expect(shard?.pool?.heapBytes).toBeLessThanOrEqual(budget + 4 * MiB);
  });
});
