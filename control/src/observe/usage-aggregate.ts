import {
  addInto,
  emptyHistogram,
  quantile,
  USAGE_OUTCOMES,
  type UsageOutcome,
  type UsageStats,
  type UsageView,
} from "@isola/schema";
import type { UsageWindow } from "./usage-window.ts";

// From usage grouped by step, tool and outcome to what the usage API answers: totals, one entry
// per step and one per tool, percentiles from the summed latency histograms. Pure.

/** The usage of one tool and outcome in one step of the window. */
export interface UsageGroup {
  /** The step's index in the window, from 0. */
  bucket: number;
  tool: string;
  outcome: UsageOutcome;
  calls: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  histogram: number[];
}

interface Sum {
  calls: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  outcomes: Record<UsageOutcome, number>;
  histogram: number[];
}

function emptySum(): Sum {
  const outcomes = Object.fromEntries(USAGE_OUTCOMES.map((outcome) => [outcome, 0])) as Record<UsageOutcome, number>;
  return { calls: 0, durationMs: 0, bytesIn: 0, bytesOut: 0, outcomes, histogram: emptyHistogram() };
}

function add(sum: Sum, group: UsageGroup): void {
  sum.calls += group.calls;
  sum.durationMs += group.durationMs;
  sum.bytesIn += group.bytesIn;
  sum.bytesOut += group.bytesOut;
  sum.outcomes[group.outcome] += group.calls;
  addInto(sum.histogram, group.histogram);
}

/** Milliseconds to the microsecond: the histograms do not know better anyway. */
const ms = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);

export function statsOf(sum: Sum): UsageStats {
  return {
    calls: sum.calls,
    errors: sum.calls - sum.outcomes.ok,
    outcomes: sum.outcomes,
    latencyMs: {
      p50: ms(quantile(sum.histogram, 0.5)),
      p95: ms(quantile(sum.histogram, 0.95)),
      p99: ms(quantile(sum.histogram, 0.99)),
      mean: sum.calls === 0 ? null : ms(sum.durationMs / sum.calls),
    },
    bytesIn: sum.bytesIn,
    bytesOut: sum.bytesOut,
  };
}

/** The usage API's answer for `groups` over `window`. Groups outside the window are ignored. */
export function aggregateUsage(server: string, window: UsageWindow, groups: readonly UsageGroup[]): UsageView {
  const totals = emptySum();
  const steps = Array.from({ length: window.buckets }, emptySum);
  const tools = new Map<string, Sum>();
  for (const group of groups) {
    const step = steps[group.bucket];
    if (!step) continue;
    add(totals, group);
    add(step, group);
    let tool = tools.get(group.tool);
    if (!tool) {
      tool = emptySum();
      tools.set(group.tool, tool);
    }
    add(tool, group);
  }
  return {
    server,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    step: window.step,
    totals: statsOf(totals),
    series: steps.map((sum, index) => ({
      start: new Date(window.from.getTime() + index * window.stepMs).toISOString(),
      ...statsOf(sum),
    })),
    tools: [...tools.entries()]
      .sort(([a, x], [b, y]) => y.calls - x.calls || (a < b ? -1 : a > b ? 1 : 0))
      .map(([tool, sum]) => ({ tool, ...statsOf(sum) })),
  };
}
