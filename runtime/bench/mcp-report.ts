// The MCP benchmark's printed report: the targets side by side, the verdicts against the
// issue's targets, the many-servers phase, and the usage reconciliation. Returns whether the
// run is valid (no failed call, usage reconciles).
import type { ManyServersResult } from "./many-servers.ts";
import type { Measurement } from "./measure.ts";
import { mib } from "./proc.ts";
import { cpu, ms, perSecond, ratio, table } from "./report.ts";

export type TargetName = "bare" | "sdk-stateless" | "sdk-stateful" | "isola-public" | "isola-key" | "isola-jwt";

export const LABELS: Record<TargetName, string> = {
  bare: "bare Fastify route, fixed JSON-RPC result",
  "sdk-stateless": "SDK Streamable HTTP, stateless (server + transport per request)",
  "sdk-stateful": "SDK Streamable HTTP, stateful (one session)",
  "isola-public": "Isola, public server (no auth)",
  "isola-key": "Isola, API key",
  "isola-jwt": "Isola, OAuth JWT (ES256)",
};

export interface Report {
  title: string;
  connections: number;
  runs: Map<TargetName, Measurement[]>;
  many: ManyServersResult | undefined;
  usageCalls: number;
  /** Log lines at warn and above from Isola, before it was closed. */
  warnings: string[];
}

const check = (ok: boolean) => (ok ? "met" : "**not met**");

export function printReport(report: Report): boolean {
  const { runs, many, connections } = report;
  // A target's best round: on a shared machine noise only slows a run down.
  const best = new Map<TargetName, Measurement>();
  for (const [name, results] of runs)
    best.set(
      name,
      results.reduce((a, b) => (b.callsPerSecond > a.callsPerSecond ? b : a)),
    );
  const rate = (name: TargetName) => best.get(name)?.callsPerSecond;
  const versus = (name: TargetName, baseline: TargetName) => {
    const [a, b] = [rate(name), rate(baseline)];
    return a !== undefined && b !== undefined && name !== baseline ? ratio(a / b) : "";
  };

  console.log(`\n${report.title}`);
  console.log(
    table(
      ["target", "calls/s", "p50", "p99", "vs SDK stateless", "vs SDK stateful", "CPU/call front + shards", "failed"],
      [...best].map(([name, r]) => [
        LABELS[name],
        perSecond(r.callsPerSecond),
        ms(r.p50Ms),
        ms(r.p99Ms),
        versus(name, "sdk-stateless"),
        versus(name, "sdk-stateful"),
        name.startsWith("isola") ? `${cpu(r.frontCpuUs)} + ${cpu(r.shardCpuUs)}` : cpu(r.frontCpuUs),
        String((runs.get(name) ?? []).reduce((sum, run) => sum + run.failures, 0)),
      ]),
    ),
  );
  console.log(
    `Isola answers tools/call only within a session (Mcp-Session-Id, endpoint.ts checkSession): ${connections} sessions, one per connection, each initialized once before the load.`,
  );

  const verdicts: string[][] = [];
  for (const name of ["isola-key", "isola-jwt"] as const) {
    const r = best.get(name);
    if (!r) continue;
    const stateless = rate("sdk-stateless");
    const stateful = rate("sdk-stateful");
    if (stateless) {
      const x = r.callsPerSecond / stateless;
      verdicts.push([`${LABELS[name]} >= 2x SDK stateless`, ratio(x), check(x >= 2)]);
    }
    if (stateful) {
      const x = r.callsPerSecond / stateful;
      verdicts.push([`${LABELS[name]} >= 1x SDK stateful`, ratio(x), check(x >= 1)]);
    }
    verdicts.push([`${LABELS[name]} p99 <= 20 ms`, ms(r.p99Ms), check(r.p99Ms <= 20)]);
  }
  // The machine's own tail: what a route that does nothing reached at the same concurrency.
  const bare = best.get("bare");
  if (verdicts.length && bare) verdicts.push(["(for scale: the bare Fastify route's p99)", ms(bare.p99Ms), ""]);
  if (verdicts.length) console.log(`\n${table(["target", "value", ""], verdicts)}`);

  let answered = 0;
  let isolaRuns = 0;
  for (const [name, results] of runs) {
    if (!name.startsWith("isola")) continue;
    for (const r of results) {
      answered += r.calls + r.warmupCalls;
      isolaRuns++;
    }
  }
  if (many) {
    answered += many.setupCalls + many.load.calls + many.load.warmupCalls;
    isolaRuns++;
    printMany(many, report.warnings);
  }
  // At saturation every connection has a call in flight when a warm-up or a run stops: the
  // server finishes and records it, the client no longer counts it.
  const unanswered = connections * 2 * isolaRuns;
  console.log(
    `\nusage: ${report.usageCalls} tool calls recorded; clients got ${answered} answers, plus up to ${connections} calls in flight whenever a warm-up or a run stopped (at most ${unanswered}).`,
  );
  const failed = [...runs.values()].flat().some((r) => r.failures > 0) || (many?.load.failures ?? 0) > 0;
  const reconciled = report.usageCalls >= answered && report.usageCalls <= answered + unanswered;
  if (!reconciled) console.log("usage does NOT reconcile with the calls made");
  if (report.warnings.length)
    console.log(`\nwarnings logged by Isola:\n${report.warnings.slice(0, 10).join("")}`.trimEnd());
  return !failed && reconciled;
}

function printMany(m: ManyServersResult, warnings: string[]): void {
  const frontPerServer = (m.warm.frontBytes - m.before.frontBytes) / m.servers;
  const shardPerServer = (m.slice.shardBytes - m.before.shardBytes) / m.sliceServers;
  const recycleTimes = warnings
    .filter((line) => line.includes('"type":"shard-recycle"'))
    .map((line) => (JSON.parse(line) as { time: number }).time);
  const recycles = [
    ...m.phases.map((phase) => {
      const count = recycleTimes.filter((time) => time >= phase.from && time < phase.to).length;
      return `${count} during ${phase.name}`;
    }),
    `${recycleTimes.length} in the whole run`,
  ].join(", ");
  const three = (key: "frontBytes" | "shardBytes") =>
    `${[m.before, m.warm, m.after].map((sample) => mib(sample[key]).toFixed(0)).join(" / ")} MiB`;
  console.log(`\n${m.servers} servers (public), called round-robin, ${m.warm.shards} sandbox shards`);
  console.log(
    table(
      ["metric", "value"],
      [
        [
          "deploy, each: create + version (row copied) + deploy, through the API",
          `${m.deploySeconds.toFixed(1)} s (${perSecond(m.servers / m.deploySeconds)}/s)`,
        ],
        [
          "first call of each server (cold isolate), 8 at a time: total, p50 / p99",
          `${m.coldSeconds.toFixed(1)} s, ${ms(m.coldCallP50Ms)} / ${ms(m.coldCallP99Ms)}`,
        ],
        ["calls/s, round-robin", perSecond(m.load.callsPerSecond)],
        ["p50 / p99", `${ms(m.load.p50Ms)} / ${ms(m.load.p99Ms)}`],
        ["CPU per call: front + shards", `${cpu(m.load.frontCpuUs)} + ${cpu(m.load.shardCpuUs)}`],
        ["failed", String(m.load.failures)],
        ["RSS, front process: 3 servers / after the first calls / after the load", three("frontBytes")],
        ["RSS, sandbox shards: 3 servers / after the first calls / after the load", three("shardBytes")],
        [
          `RSS per server: front (all ${m.servers}) / shards (first ${m.sliceServers})`,
          `${(frontPerServer / 1024).toFixed(0)} KiB / ${(shardPerServer / 1024 ** 2).toFixed(2)} MiB`,
        ],
        ["shard recycles (RSS over the supervisor's threshold)", recycles],
      ],
    ),
  );
}
