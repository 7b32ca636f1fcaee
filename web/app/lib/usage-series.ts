// The usage answer (GET /servers/{slug}/usage) shaped for the metrics charts and table. Pure.
import type { UsageView } from "@isola/schema";

/** The ranges the metrics page offers, each with the step that gives a readable number of points. */
export const USAGE_RANGES = {
  "1h": { ms: 3_600_000, step: "1m" },
  "24h": { ms: 86_400_000, step: "1h" },
  "7d": { ms: 7 * 86_400_000, step: "6h" },
} as const;

export type UsageRange = keyof typeof USAGE_RANGES;

export const isUsageRange = (value: string | null): value is UsageRange =>
  value !== null && Object.hasOwn(USAGE_RANGES, value);

/** The usage query of a range ending at `now`. */
export function usageQueryOf(range: UsageRange, now: Date): string {
  const { ms, step } = USAGE_RANGES[range];
  const params = new URLSearchParams({ from: new Date(now.getTime() - ms).toISOString(), to: now.toISOString(), step });
  return params.toString();
}

export interface UsagePoint {
  /** The step's start, as the axis shows it. */
  label: string;
  start: string;
  calls: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Calls per outcome that is not ok (tool_error, limited...): the error chart's stacks. */
  [outcome: string]: number | string | null;
}

/** Every outcome other than ok that occurs in the window, in a stable order: the error chart's series. */
export function errorKinds(usage: Pick<UsageView, "series">): string[] {
  const kinds = new Set<string>();
  for (const point of usage.series)
    for (const [outcome, count] of Object.entries(point.outcomes))
      if (outcome !== "ok" && count > 0) kinds.add(outcome);
  return [...kinds].sort();
}

/**
 * A step's start as a label (UTC): the date for day steps, date and time for steps of several
 * hours (a window of days), the time alone otherwise.
 */
export function stepLabel(start: string, step: string): string {
  const iso = new Date(start).toISOString();
  const unit = step.at(-1);
  if (unit === "d") return iso.slice(5, 10);
  if (unit === "h" && Number.parseInt(step, 10) > 1) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  return iso.slice(11, 16);
}

/** One point per step: calls, errors by kind, latency percentiles. */
export function usagePoints(usage: Pick<UsageView, "series" | "step">): UsagePoint[] {
  const kinds = errorKinds(usage);
  return usage.series.map((point) => ({
    label: stepLabel(point.start, usage.step),
    start: point.start,
    calls: point.calls,
    errors: point.errors,
    p50: point.latencyMs.p50,
    p95: point.latencyMs.p95,
    p99: point.latencyMs.p99,
    ...Object.fromEntries(kinds.map((kind) => [kind, point.outcomes[kind as keyof typeof point.outcomes] ?? 0])),
  }));
}

/** The error rate in percent, one decimal; null without calls. */
export function errorRate(stats: { calls: number; errors: number }): number | null {
  return stats.calls === 0 ? null : Math.round((stats.errors / stats.calls) * 1000) / 10;
}

/** A latency in words: "12 ms", "1.2 s", or "–" without calls. */
export function formatMs(ms: number | null): string {
  if (ms === null) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
