// The soak's capacity: closed-loop bursts (autocannon, the benchmark's load generator) over the
// same requests the soak makes, at rising concurrency, until throughput stops rising.

import { FailureTally } from "./load-answer.ts";
import type { LoadGenerator, LoadRoute } from "./load-client.ts";

export interface CapacityStep {
  connections: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

export interface Capacity {
  callsPerSecond: number;
  steps: CapacityStep[];
  failures: FailureTally;
}

const LEVELS = [8, 16, 32, 64, 128, 256];
/** A level that adds less than this over the best so far does not count as rising. */
const GAIN = 1.05;

export async function measureCapacity(
  load: LoadGenerator,
  origin: string,
  routes: LoadRoute[],
  seconds: number,
  log: (line: string) => void,
): Promise<Capacity> {
  const failures = new FailureTally();
  const steps: CapacityStep[] = [];
  let best = 0;
  let flat = 0;
  // Untimed: the first calls of each server load its isolate (cold starts the soak also sees, but
  // not all at once).
  const warm = await load.run({ origin, routes, connections: LEVELS[0] as number, seconds });
  for (const [kind, { count, sample }] of Object.entries(warm.failureKinds ?? {})) failures.add(kind, sample, count);
  for (const connections of LEVELS) {
    const result = await load.run({ origin, routes, connections, seconds });
    for (const [kind, { count, sample }] of Object.entries(result.failureKinds ?? {}))
      failures.add(kind, sample, count);
    steps.push({ connections, ...result });
    log(
      `capacity: ${connections} in flight, ${Math.round(result.callsPerSecond)} calls/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms` +
        (result.failures ? `, ${result.failures} failed: ${result.firstFailure}` : ""),
    );
    // Two levels in a row without a gain end it: one slow burst (a shard recycled, a neighbour's
    // test on the same cores) does not.
    flat = result.callsPerSecond < best * GAIN ? flat + 1 : 0;
    best = Math.max(best, result.callsPerSecond);
    if (flat === 2) break;
  }
  return { callsPerSecond: Math.max(...steps.map((step) => step.callsPerSecond)), steps, failures };
}
