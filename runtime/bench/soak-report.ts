// The soak's report: markdown tables (so that a run pastes into docs/BENCHMARKS.md) on stdout.

import type { FailureKind } from "./load-answer.ts";
import type { LatencyFigures, LoadResult } from "./load-client.ts";
import { table } from "./report.ts";
import { drift, MAX_FD_GROWTH, MAX_SLOPE_MB_PER_MIN, type ProcessTrend } from "./soak-analysis.ts";
import type { Capacity } from "./soak-capacity.ts";
import type { ChurnResult } from "./soak-churn.ts";

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "-");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "-");
const int = (n: number) => Math.round(n).toLocaleString("en-US");

export interface SoakReport {
  title: string;
  setup: string[];
  capacity: Capacity;
  rate: number;
  load: LoadResult;
  windowSeconds: number;
  churn: ChurnResult;
  trends: ProcessTrend[];
  warmupSeconds: number;
  /** Lines about the event loop, handles and the sandbox (from /metrics). */
  runtime: string[];
  errors: Record<string, FailureKind>;
  reasons: string[];
  unresolved: string[];
}

function latencyRow(label: string, f: LatencyFigures): string[] {
  return [label, int(f.calls), int(f.failures), f2(f.p50Ms), f2(f.p95Ms), f2(f.p99Ms), f1(f.maxMs)];
}

export function printReport(r: SoakReport): void {
  const out: string[] = [`## ${r.title}`, "", ...r.setup.map((line) => `- ${line}`), ""];
  out.push(
    table(
      ["closed loop, in flight", "calls/s", "p50 ms", "p99 ms", "failed"],
      r.capacity.steps.map((s) => [
        String(s.connections),
        int(s.callsPerSecond),
        f2(s.p50Ms),
        f2(s.p99Ms),
        int(s.failures),
      ]),
    ),
    "",
    `Capacity ${int(r.capacity.callsPerSecond)} calls/s; the soak ran at ${int(r.rate)} requests/s (open loop).`,
    "",
  );
  const header = ["", "answered", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms"];
  out.push(
    table(
      header,
      Object.entries(r.load.kinds ?? {}).map(([kind, f]) => latencyRow(kind, f)),
    ),
    "",
    table(
      header.map((h, i) => (i === 0 ? `${r.windowSeconds} s window` : h)),
      (r.load.windows ?? []).map((f, i) => latencyRow(`${i * r.windowSeconds}-${(i + 1) * r.windowSeconds} s`, f)),
    ),
    "",
  );
  const { p50, p99 } = drift(r.load.windows ?? []);
  out.push(`Last window / first window: p50 ${f2(p50)}x, p99 ${f2(p99)}x.`, "");
  out.push(
    `Deploys during the load: ${r.churn.deployed} new servers, ${r.churn.redeployed} new versions of loaded servers ` +
      `(compile + deploy p50 ${int(r.churn.deployP50Ms)} ms, max ${int(r.churn.deployMaxMs)} ms); ${r.churn.calls} calls right after ` +
      `(a new session and one call of each shape: p50 ${int(r.churn.firstCallsP50Ms)} ms).`,
    "",
  );
  out.push(
    table(
      [
        "process",
        "seen (s)",
        `RSS after ${int(r.warmupSeconds)} s warm-up -> end (MB)`,
        "max MB",
        "slope MB/min",
        "peaks' slope MB/min",
        "fds start -> end (max)",
        "fd growth",
      ],
      r.trends.map((t) => [
        `${t.role} ${t.pid}`,
        `${int(t.from)}-${int(t.to)}`,
        `${f1(t.rssStartMb)} -> ${f1(t.rssEndMb)}`,
        f1(t.rssMaxMb),
        t.steady ? f2(t.rssSlopeMbPerMin) : "(not through the window)",
        t.steady ? `${f2(t.rssPeakSlopeMbPerMin)} ± ${f2(t.rssPeakSlopeError)}` : "-",
        `${t.fdStart} -> ${t.fdEnd} (${t.fdMax})`,
        t.steady ? String(t.fdGrowth) : "-",
      ]),
    ),
    "",
    ...r.runtime.map((line) => `- ${line}`),
    "",
  );
  const errorKinds = Object.entries(r.errors);
  out.push(errorKinds.length ? "Errors:" : "Errors: none.");
  for (const [kind, { count, sample }] of errorKinds) out.push(`- ${kind}: ${count}, e.g. ${sample}`);
  out.push(
    "",
    r.reasons.length
      ? `FAILED: ${r.reasons.join("; ")}`
      : `PASSED: no errors, no process's RSS peaks growing by more than ${MAX_SLOPE_MB_PER_MIN} MB/min (beyond two standard errors), descriptor growth <= ${MAX_FD_GROWTH} after the warm-up.`,
    ...(r.unresolved.length
      ? [`UNRESOLVED at this length (run longer: --minutes 60): ${r.unresolved.join("; ")}`]
      : []),
  );
  process.stdout.write(`${out.join("\n")}\n`);
}
