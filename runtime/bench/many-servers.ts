// The many-servers phase: N servers deployed through the API, each called once (a cold isolate),
// then all of them called round-robin; memory before and after, per server.
import type { IsolaStack } from "./isola-stack.ts";
import { type LoadGenerator, MCP_HEADERS } from "./load-client.ts";
import { callHello, openSession } from "./mcp-session.ts";
import { type Measurement, measure } from "./measure.ts";
import { type MemorySample, sampleMemory } from "./proc.ts";
import { profiled } from "./profile.ts";
import { inBatches, quantile } from "./report.ts";

/** Servers whose first call is made before shard memory is sampled: far below a shard's recycle threshold. */
const SLICE = 200;

export interface ManyServersResult {
  servers: number;
  deploySeconds: number;
  /** Every server's first call, 8 at a time. */
  coldSeconds: number;
  coldCallP50Ms: number;
  coldCallP99Ms: number;
  before: MemorySample;
  /** The first `sliceServers` servers called once. */
  sliceServers: number;
  slice: MemorySample;
  /** Every server deployed and called once. */
  warm: MemorySample;
  /** After the round-robin load. */
  after: MemorySample;
  load: Measurement;
  /** Wall-clock bounds (ms since the epoch) of each phase, to place log events such as shard recycles. */
  phases: { name: string; from: number; to: number }[];
  /** Tool calls made outside the measured load (one per server), for the usage reconciliation. */
  setupCalls: number;
}

export async function manyServers(
  stack: IsolaStack,
  load: LoadGenerator,
  options: {
    servers: number;
    from: string;
    connections: number;
    warmupSeconds: number;
    seconds: number;
    /** CPU profiles of the first calls and of the round-robin load. */
    profile?: boolean;
  },
): Promise<ManyServersResult> {
  const before = sampleMemory();
  const slugs = Array.from({ length: options.servers }, (_, i) => `many-${String(i).padStart(4, "0")}`);

  const phases: ManyServersResult["phases"] = [];
  let phaseStart = Date.now();
  const phaseEnds = (name: string) => {
    phases.push({ name, from: phaseStart, to: Date.now() });
    phaseStart = Date.now();
  };
  const deployStarted = performance.now();
  // Four at a time: the control plane's requests overlap as they would from several users.
  await inBatches(slugs, 4, (slug) => stack.deployCopy(slug, "public", options.from));
  const deploySeconds = (performance.now() - deployStarted) / 1000;
  phaseEnds("deploy");
  process.stderr.write(`  deployed ${slugs.length} servers in ${deploySeconds.toFixed(1)} s\n`);

  const sessions = new Map<string, string>();
  await inBatches(slugs, 16, async (slug) => {
    sessions.set(slug, await openSession(`${stack.origin}/${slug}/mcp`));
  });
  // The first calls in two parts: shard memory per server is measured over the first part,
  // before the shards can grow past the supervisor's recycle threshold (a recycled shard starts
  // empty, so a later sample would count only the servers called since).
  const coldTimes: number[] = [];
  const coldCalls = (part: string[]) =>
    inBatches(part, 8, async (slug) => {
      const started = performance.now();
      await callHello(`${stack.origin}/${slug}/mcp`, { "mcp-session-id": sessions.get(slug) as string });
      coldTimes.push(performance.now() - started);
    });
  const sliceServers = Math.min(SLICE, slugs.length);
  const coldStarted = performance.now();
  await coldCalls(slugs.slice(0, sliceServers));
  const slice = sampleMemory();
  const rest = () => coldCalls(slugs.slice(sliceServers));
  await (options.profile ? profiled("many-cold", rest) : rest());
  const coldSeconds = (performance.now() - coldStarted) / 1000;
  phaseEnds("first calls");
  const warm = sampleMemory();

  phaseStart = Date.now();
  const result = await measure(
    load,
    {
      origin: stack.origin,
      routes: slugs.map((slug) => ({
        path: `/${slug}/mcp`,
        headers: { ...MCP_HEADERS, "mcp-session-id": sessions.get(slug) as string },
      })),
      connections: options.connections,
      seconds: options.seconds,
    },
    { warmupSeconds: options.warmupSeconds, profile: options.profile ? "many-load" : undefined },
  );
  return {
    servers: slugs.length,
    deploySeconds,
    coldSeconds,
    coldCallP50Ms: quantile(coldTimes, 0.5),
    coldCallP99Ms: quantile(coldTimes, 0.99),
    before,
    sliceServers,
    slice,
    warm,
    after: sampleMemory(),
    load: result,
    setupCalls: slugs.length,
    phases: [...phases, { name: "load", from: phaseStart, to: Date.now() }],
  };
}
