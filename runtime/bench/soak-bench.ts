// The soak: `pnpm bench:soak`. Isola as a real process with N servers (API keys, three tool
// shapes), its capacity measured first (closed loop), then an open-loop load at a fraction of it
// for many minutes: tool calls of each shape, tools/list, new sessions, and deploys while it runs.
// Every second, the RSS and open descriptors of every process in Isola's tree, and its /metrics.
// Passes when nothing failed and no process grew after the warm-up (soak-analysis.ts says how much
// is too much); writes everything to results/soak-<date>.json.
//
//   node --no-node-snapshot runtime/bench/soak-bench.ts [--servers 1000] [--minutes 10]
//     [--rate-fraction 0.5] [--deploy-every 20] [--capacity-seconds 5] [--metrics-every 5]
//     [--shards N] [--embedded]
//
// Stores: PostgreSQL + Redis when DATABASE_URL and REDIS_URL are set (a new database, dropped
// after), the embedded ones otherwise or with --embedded (then every server compiles its code).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FailureTally } from "./load-answer.ts";
import { LoadGenerator, type LoadRoute } from "./load-client.ts";
import { openSession } from "./mcp-session.ts";
import { childrenOf, cpuOf } from "./proc.ts";
import { inBatches, quantile } from "./report.ts";
import { cpuSecondsUsed, metricSeries, processTrends, verdict, warmupSeconds } from "./soak-analysis.ts";
import { measureCapacity } from "./soak-capacity.ts";
import { startChurn } from "./soak-churn.ts";
import { startSoakIsola } from "./soak-isola.ts";
import { printReport } from "./soak-report.ts";
import { Sampler } from "./soak-sampler.ts";
import { deploySoakServer, routesFor, type SoakServer, shuffled } from "./soak-servers.ts";

const { values: args } = parseArgs({
  // `pnpm bench:soak -- --minutes 60` passes the "--" on.
  args: process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === "--")),
  options: {
    servers: { type: "string", default: "1000" },
    minutes: { type: "string", default: "10" },
    "rate-fraction": { type: "string", default: "0.5" },
    "deploy-every": { type: "string", default: "20" },
    "capacity-seconds": { type: "string", default: "5" },
    // A scrape renders every server's series (~1.4 KB each) on Isola's event loop: every second
    // would load what it measures. /proc is read every second regardless.
    "metrics-every": { type: "string", default: "5" },
    shards: { type: "string" },
    embedded: { type: "boolean", default: false },
  },
});
const serverCount = Number(args.servers);
const seconds = Number(args.minutes) * 60;
const windowSeconds = seconds >= 180 ? 60 : 10;
const log = (line: string) => process.stderr.write(`  ${line}\n`);

/** Busy and total CPU ticks of the whole machine, to tell the soak's share from other work. */
function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, n) => sum + n, 0);
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}
/** CPU seconds of the load generator (this process's other child). */
const generatorCpu = () =>
  childrenOf(process.pid).reduce((sum, pid) => (pid === isola.pid ? sum : sum + cpuOf(pid)), 0);

const load = await LoadGenerator.start();
const isola = await startSoakIsola({ embedded: args.embedded, ...(args.shards ? { shards: args.shards } : {}) });
log(`Isola (pid ${isola.pid}) at ${isola.origin} on ${isola.stores}`);

// The servers: the first compiled through the API, the others copying its version when the
// database is reachable (PostgreSQL), each with its own API key; then one session each.
const deployStarted = performance.now();
const slugs = Array.from({ length: serverCount }, (_, i) => `soak-${String(i).padStart(4, "0")}`);
const servers: SoakServer[] = [await deploySoakServer(isola, slugs[0] as string)];
await inBatches(slugs.slice(1), 4, async (slug) => {
  servers.push(await deploySoakServer(isola, slug, { copyFrom: slugs[0] as string }));
});
const deploySeconds = (performance.now() - deployStarted) / 1000;
log(
  `deployed ${servers.length} servers in ${deploySeconds.toFixed(1)} s (${isola.db ? "version copied" : "each compiled"})`,
);
const sessions = new Map<string, string>();
await inBatches(servers, 16, async (server) => {
  sessions.set(
    server.slug,
    await openSession(`${isola.origin}/${server.slug}/mcp`, { authorization: server.authorization }),
  );
});
const routes = shuffled(servers.flatMap((server, i) => routesFor(server, sessions.get(server.slug) as string, i)));
const callRoutes = routes.filter((route: LoadRoute) => !route.newSession);

const capacity = await measureCapacity(load, isola.origin, callRoutes, Number(args["capacity-seconds"]), log);
const rate = capacity.callsPerSecond * Number(args["rate-fraction"]);
log(
  `capacity ${Math.round(capacity.callsPerSecond)} calls/s; soaking at ${Math.round(rate)} requests/s for ${seconds} s`,
);

const sampler = new Sampler(isola.pid, {
  origin: isola.origin,
  token: isola.metricsToken,
  everySeconds: Number(args["metrics-every"]),
});
const warnings: string[] = isola.takeWarnings();
const ticks = machineTicks();
const loadCpu = generatorCpu();
const loadAverages = [loadavg()[0] as number];
const loadTimer = setInterval(() => loadAverages.push(loadavg()[0] as number), 10_000);
sampler.start();
const churn = startChurn(isola, servers, Number(args["deploy-every"]));
// Warnings are taken as they come: the log of every request is kept in memory until then.
const warningTimer = setInterval(() => warnings.push(...isola.takeWarnings()), 5_000);
const soaked = await load.run({
  origin: isola.origin,
  routes,
  rate,
  seconds,
  windowSeconds,
  connections: 512,
});
sampler.stop();
const churned = await churn.stop();
clearInterval(loadTimer);
clearInterval(warningTimer);
warnings.push(...isola.takeWarnings());
const ticksAfter = machineTicks();
const isolaCores = cpuSecondsUsed(sampler.samples) / seconds;
const generatorCores = (generatorCpu() - loadCpu) / seconds;
const machineBusyCores = ((ticksAfter.busy - ticks.busy) / (ticksAfter.total - ticks.total)) * cpus().length;
const exit = await isola.stop();
// A shard logs its exit at warn when the node stops: only errors count here (a drain past the grace period).
const stopLines = isola.takeWarnings().filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
load.close();

// Analysis.
const warmup = warmupSeconds(seconds);
const trends = processTrends(sampler.samples, warmup);
const errors = new FailureTally();
for (const [kind, { count, sample }] of Object.entries(soaked.failureKinds ?? {}))
  errors.add(`soak: ${kind}`, sample, count);
for (const [kind, { count, sample }] of Object.entries(capacity.failures.kinds))
  errors.add(`capacity: ${kind}`, sample, count);
for (const [kind, { count, sample }] of Object.entries(churned.failures.kinds)) errors.add(kind, sample, count);
for (const failure of sampler.scrapeFailures) errors.add("metrics scrape failed", failure);
for (const line of warnings) errors.add("warning logged by Isola", line);
for (const line of stopLines) errors.add("error logged by Isola while stopping", line);
if (exit.code !== 0) errors.add("Isola did not stop cleanly", JSON.stringify(exit));
const { reasons, unresolved } = verdict({ errors: errors.total, trends });

const series = (name: string) => metricSeries(sampler.samples, name);
const after = (points: [number, number][]) => points.filter(([t]) => t >= warmup).map(([, v]) => v);
const lagP99 = after(series("nodejs_eventloop_lag_p99_seconds")).map((s) => s * 1000);
const handles = after(series("nodejs_active_handles_total"));
const delta = (name: string) => {
  const points = series(name);
  return (points[points.length - 1]?.[1] ?? 0) - (points[0]?.[1] ?? 0);
};
const mibRange = (values: number[]) =>
  values.length === 0
    ? "n/a"
    : `${(Math.min(...values) / 1024 ** 2).toFixed(0)}-${(Math.max(...values) / 1024 ** 2).toFixed(0)}, ${((values.at(-1) ?? 0) / 1024 ** 2).toFixed(0)} at the end`;
const clients = sampler.samples.filter((s) => s.t >= warmup).map((s) => s.connections);
const runtime = [
  `client connections open to Isola after the warm-up: ${clients[0]} -> ${clients[clients.length - 1]} (max ${Math.max(...clients)})`,
  `event loop delay p99 per scrape after the warm-up (ms): median ${quantile(lagP99, 0.5).toFixed(1)}, p95 ${quantile(lagP99, 0.95).toFixed(1)}, max ${Math.max(...lagP99).toFixed(1)}`,
  `active handles (main process): ${handles[0]} after the warm-up, ${handles[handles.length - 1]} at the end, max ${Math.max(...handles)}`,
  `sandbox: ${delta("sandbox_cold_starts_total")} cold starts during the soak, ${after(series("sandbox_isolates")).pop()} isolates warm at the end, ` +
    `${delta("sandbox_shard_restarts_total")} shard restarts, ${delta("sandbox_quarantines_total")} quarantines`,
  `pools' heap / budget (all shards, MiB) after the warm-up: ${mibRange(after(series("sandbox_pool_heap_bytes")))} / ${mibRange(after(series("sandbox_pool_heap_budget_bytes")))}`,
  `/metrics scrape: p50 ${quantile(sampler.scrapeMs, 0.5).toFixed(1)} ms, max ${Math.max(...sampler.scrapeMs).toFixed(0)} ms, ` +
    `${(sampler.scrapeBytes / 1024).toFixed(0)} KB (every ${args["metrics-every"]} s)`,
  `CPU: Isola's processes ${isolaCores.toFixed(2)} cores on average, the load generator ${generatorCores.toFixed(2)}; the whole machine ${machineBusyCores.toFixed(2)} of ${cpus().length}; load average ${Math.min(...loadAverages).toFixed(1)}-${Math.max(...loadAverages).toFixed(1)}`,
];
const date = new Date().toISOString().slice(0, 10);
const report = {
  title: `Soak: ${serverCount} servers, ${seconds / 60} min at ${Number(args["rate-fraction"])} of capacity (${date}, Node ${process.version})`,
  setup: [
    `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; Isola ${isola.stores}, roles runtime + control, ${args.shards ?? "default"} shards`,
    `${serverCount} API-key servers deployed in ${deploySeconds.toFixed(0)} s; ${routes.length} routes in the mix (per server: hello x3, crunch, report, tools/list; every 4th a new session)`,
  ],
  capacity,
  rate,
  load: soaked,
  windowSeconds,
  churn: churned,
  trends,
  warmupSeconds: warmup,
  runtime,
  errors: errors.kinds,
  reasons,
  unresolved,
};
printReport(report);
const resultsDir = fileURLToPath(new URL("../../results/", import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const file = `${resultsDir}soak-${date}.json`;
writeFileSync(
  file,
  JSON.stringify(
    {
      ...report,
      capacity: { ...capacity, failures: capacity.failures.kinds },
      churn: { ...churned, failures: churned.failures.kinds },
      args,
      warnings,
      samples: sampler.samples,
    },
    null,
    1,
  ),
);
log(`results: ${file}`);
process.exit(reasons.length ? 1 : 0);
