// The sandbox benchmark: `pnpm bench`. Prints one table, figures beside their targets.
// Every ratio compares against a baseline measured in this same run.
import { readFileSync } from "node:fs";
import { compileServer } from "../src/compiler/compile.ts";
import { SandboxSupervisor } from "../src/host/supervisor.ts";

const TEN_TOOLS = readFileSync(new URL("../test/fixtures/compiler-ten-tools.ts", import.meta.url), "utf8");
const ECHO = `import { defineServer, tool, z } from "isola";
export default defineServer({ name: "echo", tools: {
  echo: tool({ description: "Echo", input: z.object({ text: z.string() }), run: ({ text }) => text }),
  burn: tool({ description: "Burn CPU", input: z.object({ ms: z.number() }), run: ({ ms }) => { const end = Date.now() + ms; while (Date.now() < end) {} return "burnt"; } }),
} });`;

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const ms = (n: number) => `${n.toFixed(n < 1 ? 3 : 1)} ms`;
const rows: [string, string, string][] = [];
const row = (metric: string, value: string, target = "") => {
  rows.push([metric, value, target]);
  process.stderr.write(`  ${metric}: ${value}\n`);
};

const artifacts = new Map<string, string>();
const supervisor = new SandboxSupervisor({
  shards: 2,
  loadArtifact: async (_id, hash) => artifacts.get(hash) ?? Promise.reject(new Error("missing")),
});
await supervisor.start();

async function compile(source: string) {
  const result = await compileServer({ "index.ts": source }, { describe: (bundle) => supervisor.describe(bundle) });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  artifacts.set(result.artifact.hash, result.artifact.bundle);
  return result.artifact;
}

const call = (id: string, hash: string, tool: string, args: unknown) =>
  supervisor.call({
    server: { id, hash },
    kind: "tool",
    target: tool,
    args,
    env: {},
    user: null,
    egress: { allowedHosts: [] },
  });

// 1. Compile + check of a 10-tool server.
const compileTimes: number[] = [];
for (let i = 0; i < 8; i++) {
  const started = performance.now();
  await compile(`${TEN_TOOLS}\n// variant ${i}\n`);
  compileTimes.push(performance.now() - started);
}
row("compile + check, 10 tools (p50)", ms(quantile(compileTimes.slice(1), 0.5)), "< 2000 ms");

// 2. Cold start: artifact -> first result, each server new code (no compiled-code cache hit).
const coldTimes: number[] = [];
for (let i = 0; i < 60; i++) {
  const artifact = await compile(`${ECHO}\n// tenant ${i}\n`);
  const started = performance.now();
  await call(`cold-${i}`, artifact.hash, "echo", { text: "hi" });
  coldTimes.push(performance.now() - started);
}
row("cold start p50", ms(quantile(coldTimes, 0.5)), "<= 10 ms");
row("cold start p99", ms(quantile(coldTimes, 0.99)), "<= 50 ms");

// 3. Warm call overhead against calling the same function directly in this process.
const echo = await compile(ECHO);
await call("warm", echo.hash, "echo", { text: "x" });
const warmTimes: number[] = [];
for (let i = 0; i < 3000; i++) {
  const started = performance.now();
  await call("warm", echo.hash, "echo", { text: "x" });
  warmTimes.push(performance.now() - started);
}
const direct = ({ text }: { text: string }) => text;
const directTimes: number[] = [];
for (let i = 0; i < 3000; i++) {
  const started = performance.now();
  await Promise.resolve(direct({ text: "x" }));
  directTimes.push(performance.now() - started);
}
const overhead = quantile(warmTimes, 0.5) - quantile(directTimes, 0.5);
row("warm call overhead p50 (vs direct)", ms(overhead), "<= 0.3 ms");
row("warm call p99", ms(quantile(warmTimes, 0.99)), "");

// 4. Memory: resident size per warm isolate of a 10-tool server.
const tenTools = await compile(TEN_TOOLS);
const shardRss = () => supervisor.shards().reduce((sum, s) => sum + (s.rssBytes ?? 0), 0);
const before = shardRss();
const WARM = 400;
for (let i = 0; i < WARM; i += 20) {
  await Promise.all(Array.from({ length: 20 }, (_, k) => call(`mem-${i + k}`, tenTools.hash, "upper", { text: "x" })));
}
const perIsolate = (shardRss() - before) / WARM;
row(`RSS per warm isolate, 10-tool server (${WARM} isolates)`, `${(perIsolate / 1024 ** 2).toFixed(2)} MB`, "<= 2 MB");
row("warm tenants per GiB", `${Math.floor(1024 ** 3 / perIsolate)}`, ">= 500");

// 5. Throughput with 1 tenant and with 100 tenants, 64 calls in flight.
async function throughput(tenants: number, seconds: number): Promise<number> {
  for (let t = 0; t < tenants; t++) await call(`tp-${tenants}-${t}`, echo.hash, "echo", { text: "w" });
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 64 }, async (_, worker) => {
      for (let n = worker; performance.now() < deadline; n += 64) {
        await call(`tp-${tenants}-${n % tenants}`, echo.hash, "echo", { text: "w" });
        done++;
      }
    }),
  );
  return done / seconds;
}
row("calls/s, 1 tenant", `${Math.round(await throughput(1, 3))}`);
row("calls/s, 100 tenants", `${Math.round(await throughput(100, 3))}`);

// 6. A quiet tenant's p99 with and without a neighbour burning CPU on the other shard.
async function quietP99(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 400; i++) {
    const started = performance.now();
    await call("quiet", echo.hash, "echo", { text: "q" });
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return quantile(times, 0.99);
}
const alone = await quietP99();
let noisy = true;
const noisyShardId = (() => {
  for (let i = 0; ; i++) if (supervisor.shardOf(`noisy-${i}`) !== supervisor.shardOf("quiet")) return `noisy-${i}`;
})();
const noise = Promise.all(
  Array.from({ length: 4 }, async () => {
    while (noisy) await call(noisyShardId, echo.hash, "burn", { ms: 200 }).catch(() => {});
  }),
);
const withNoise = await quietP99();
noisy = false;
await noise;
row("quiet tenant p99 alone", ms(alone));
row("quiet tenant p99, noisy neighbour", `${ms(withNoise)} (${(withNoise / alone).toFixed(2)}x)`, "<= 2x");

await supervisor.close();

// 7. A burst of cold loads (a stalled minute's worth on one shard), with loads gated as the shard
// does (4 at once) against all at once, on a shard whose pool budget is smaller than the burst
// (recycle threshold 512 MiB: ~45 isolates of this server), so what is resident is the gate's doing.
async function coldBurst(loadsAtOnce: number, servers: number) {
  const shard = new SandboxSupervisor({
    shards: 1,
    loadsAtOnce,
    recycleShardRssBytes: 512 * 1024 ** 2,
    minRecycleAgeMs: 600_000,
    heartbeatIntervalMs: 1000,
    loadArtifact: async (_id, hash) => artifacts.get(hash) ?? Promise.reject(new Error("missing")),
  });
  await shard.start();
  const rss = () => shard.shards()[0]?.rssBytes ?? 0;
  const base = rss();
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 5);
  const started = performance.now();
  const times = await Promise.all(
    Array.from({ length: servers }, async (_, i) => {
      const at = performance.now();
      await shard.call({
        server: { id: `burst-${loadsAtOnce}-${i}`, hash: echo.hash },
        kind: "tool",
        target: "echo",
        args: { text: "x" },
        env: {},
        user: null,
        egress: { allowedHosts: [] },
      });
      return performance.now() - at;
    }),
  );
  const totalMs = performance.now() - started;
  clearInterval(sampler);
  await shard.close();
  return { totalMs, p50: quantile(times, 0.5), growthMiB: (peak - base) / 1024 ** 2 };
}
const BURST = 250;
const gated = await coldBurst(4, BURST);
const ungated = await coldBurst(BURST, BURST);
row(
  `${BURST} cold loads at once: shard RSS growth, gated (4) vs all at once`,
  `${gated.growthMiB.toFixed(0)} vs ${ungated.growthMiB.toFixed(0)} MiB (${(ungated.growthMiB / gated.growthMiB).toFixed(1)}x less)`,
  "less",
);
row(
  `${BURST} cold loads at once: all done, p50 call, gated vs all at once`,
  `${ms(gated.totalMs)} vs ${ms(ungated.totalMs)}; p50 ${ms(gated.p50)} vs ${ms(ungated.p50)}`,
  "total no worse",
);

const width = [0, 1, 2].map((i) =>
  Math.max(...rows.map((r) => r[i].length), ["metric", "value", "target"][i]?.length ?? 0),
);
const line = (r: string[]) => `| ${r.map((cell, i) => cell.padEnd(width[i] ?? 0)).join(" | ")} |`;
console.log(`\nsandbox (${new Date().toISOString().slice(0, 10)}, Node ${process.version})`);
console.log(line(["metric", "value", "target"]));
console.log(line(width.map((w) => "-".repeat(w))));
for (const r of rows) console.log(line(r));
