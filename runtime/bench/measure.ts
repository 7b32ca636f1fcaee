// One measurement: a warm-up, then the measured load, with the CPU time this process and the
// shards spent on it. CPU per call is steadier than calls/s on a shared machine: other work
// slows a run down but does not make each call cost more cycles.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { LoadGenerator, LoadJob, LoadResult } from "./load-client.ts";
import { cpuBetween, sampleCpu } from "./proc.ts";
import { profiled } from "./profile.ts";

export interface Measurement extends LoadResult {
  /** Calls answered during the warm-up (usage records them too). */
  warmupCalls: number;
  /** CPU microseconds per answered call: the process serving HTTP, and the sandbox shards. */
  frontCpuUs: number;
  shardCpuUs: number;
  /** How late this process's event loop ran timers during the run: its own stalls (GC, synchronous work). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export async function measure(
  load: LoadGenerator,
  job: LoadJob,
  options: { warmupSeconds: number; profile?: string | undefined },
): Promise<Measurement> {
  const warmup = options.warmupSeconds > 0 ? await load.run({ ...job, seconds: options.warmupSeconds }) : undefined;
  const before = sampleCpu();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const run = () => load.run(job);
  const result = options.profile ? await profiled(options.profile, run) : await run();
  loop.disable();
  const cpu = cpuBetween(before, sampleCpu());
  const calls = Math.max(1, result.calls);
  return {
    ...result,
    warmupCalls: warmup?.calls ?? 0,
    failures: result.failures + (warmup?.failures ?? 0),
    ...(result.firstFailure || warmup?.firstFailure
      ? { firstFailure: result.firstFailure ?? warmup?.firstFailure }
      : {}),
    frontCpuUs: (cpu.front / calls) * 1e6,
    shardCpuUs: (cpu.shards / calls) * 1e6,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
  };
}
