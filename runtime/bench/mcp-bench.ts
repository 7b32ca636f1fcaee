// The MCP benchmark: end-to-end tools/call throughput and latency of a trivial tool through
// Isola (routing, auth, rate limit, session, shard IPC, isolate, usage recording), beside
// baselines measured in the same run; then N servers called round-robin, with memory.
//
//   node --no-node-snapshot runtime/bench/mcp-bench.ts [--seconds 5] [--warmup 2] [--rounds 2]
//     [--connections 32] [--servers 1000] [--only isola-key,sdk-stateless,...] [--sdk-json] [--real-stores]
//     [--shards N] [--profile isola-key|many|...]
//
// --profile writes a CPU profile of this process (the servers under test) over that target's
// last measured run only. Shard processes: NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR".
//
// Every ratio compares figures of this run. Each target is measured `rounds` times,
// interleaved, and its best round is kept: on a shared machine noise only slows a run down.
// The load comes from a child process (load-worker.ts); the servers under test run here.
import { parseArgs } from "node:util";
import { bareFastify, sdkStateful, sdkStateless, type Target } from "./baselines.ts";
import { type IsolaStack, startIsolaStack } from "./isola-stack.ts";
import { LoadGenerator, MCP_HEADERS } from "./load-client.ts";
import { type ManyServersResult, manyServers } from "./many-servers.ts";
import { LABELS, printReport, type TargetName } from "./mcp-report.ts";
import { openSession } from "./mcp-session.ts";
import { type Measurement, measure } from "./measure.ts";
import { ms, perSecond } from "./report.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    servers: { type: "string", default: "1000" },
    only: { type: "string" },
    "sdk-json": { type: "boolean", default: false },
    "real-stores": { type: "boolean", default: false },
    shards: { type: "string" },
    profile: { type: "string" },
  },
});
const seconds = Number(args.seconds);
const warmupSeconds = Number(args.warmup);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const serverCount = Number(args.servers);
// The SDK's transport answers with an SSE stream by default, as in its README; --sdk-json sets
// enableJsonResponse (Isola answers JSON when a call streams nothing).
const json = args["sdk-json"];

const selected = (args.only?.split(",") ?? Object.keys(LABELS)) as TargetName[];
for (const name of selected) if (!(name in LABELS)) throw new Error(`unknown target ${name}`);

const log = (line: string) => process.stderr.write(`  ${line}\n`);
const load = await LoadGenerator.start();
const stack: IsolaStack = await startIsolaStack({
  realStores: args["real-stores"],
  ...(args.shards ? { shards: args.shards } : {}),
});
const storesName = args["real-stores"] ? "PostgreSQL + Redis" : "PGlite + the in-process bus";
log(`Isola on ${storesName} at ${stack.origin}`);

// Isola answers tools/call only within a session (endpoint.ts, checkSession: 400 without
// Mcp-Session-Id): one session per connection, each initialized once, before the load.
async function isolaTarget(slug: string, credentials: Record<string, string>): Promise<Target> {
  const url = `${stack.origin}/${slug}/mcp`;
  const sessions = await Promise.all(Array.from({ length: connections }, () => openSession(url, credentials)));
  return {
    origin: stack.origin,
    path: `/${slug}/mcp`,
    headers: sessions.map((session) => ({ ...credentials, "mcp-session-id": session })),
    close: async () => {},
  };
}

await stack.deployHello("bench-public", "public");
await stack.deployCopy("bench-key", "api_key", "bench-public");
await stack.deployCopy("bench-jwt", "oauth", "bench-public");
const starters: Record<TargetName, () => Promise<Target>> = {
  bare: bareFastify,
  "sdk-stateless": () => sdkStateless({ json }),
  "sdk-stateful": () => sdkStateful({ json }),
  "isola-public": () => isolaTarget("bench-public", {}),
  "isola-key": async () =>
    isolaTarget("bench-key", { authorization: `Bearer ${await stack.createApiKey("bench-key")}` }),
  "isola-jwt": async () => isolaTarget("bench-jwt", { authorization: `Bearer ${await stack.mintToken("bench-jwt")}` }),
};
const targets = new Map<TargetName, Target>();
for (const name of selected) targets.set(name, await starters[name]());

const runs = new Map<TargetName, Measurement[]>();
for (let round = 1; round <= rounds; round++) {
  for (const [name, target] of targets) {
    const result = await measure(
      load,
      {
        origin: target.origin,
        routes: target.headers.map((headers) => ({ path: target.path, headers: { ...MCP_HEADERS, ...headers } })),
        connections,
        seconds,
      },
      { warmupSeconds, profile: args.profile === name && round === rounds ? name : undefined },
    );
    runs.set(name, [...(runs.get(name) ?? []), result]);
    log(
      `round ${round} ${name}: ${perSecond(result.callsPerSecond)} calls/s, p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}, ` +
        `event loop delay p99 ${ms(result.loopDelayP99Ms)} max ${ms(result.loopDelayMaxMs)}` +
        (result.failures ? `, ${result.failures} failed: ${result.firstFailure}` : ""),
    );
  }
}
for (const target of targets.values()) await target.close();

let many: ManyServersResult | undefined;
if (serverCount > 0) {
  many = await manyServers(stack, load, {
    servers: serverCount,
    from: "bench-public",
    connections,
    warmupSeconds,
    seconds,
    profile: args.profile === "many",
  });
  log(
    `${serverCount} servers round-robin: ${perSecond(many.load.callsPerSecond)} calls/s` +
      (many.load.failures ? `, ${many.load.failures} failed: ${many.load.firstFailure}` : ""),
  );
}
// Shard exits while closing are expected: only what was logged before counts.
const warnings = [...stack.warnings];
const { usageCalls } = await stack.close();
load.close();

const valid = printReport({
  title:
    `MCP tools/call, ${connections} connections, best of ${rounds} x ${seconds} s (${new Date().toISOString().slice(0, 10)}, ` +
    `Node ${process.version}, ${storesName}; the SDK answers ${json ? "JSON" : "SSE"})`,
  connections,
  runs,
  many,
  usageCalls,
  warnings,
});
if (!valid) process.exitCode = 1;
