// What the soak's samples say: per process, the RSS slope and the change in open descriptors after
// the warm-up; and whether the run passes. Pure functions over the samples.
import type { LatencyFigures } from "./load-client.ts";
import type { Sample } from "./soak-sampler.ts";

/**
 * RSS growth per process above which the run fails, MB per minute. At 1 MB/min the main process
 * would grow by 1.4 GB a day, and a shard would pass the supervisor's 1.5 GB recycle threshold
 * within a day (every tenant it holds would then cold-start again): a leak that matters within
 * a day.
 *
 * RSS is a sawtooth (garbage collection, isolates evicted and created), so the trend is taken
 * over the per-minute peaks, and judged with its standard error: the run fails when the growth
 * is certainly above the threshold (the slope less two standard errors), and says "unresolved"
 * when it can neither rule the threshold in nor out, which a longer run (--minutes 60) settles.
 */
export const MAX_SLOPE_MB_PER_MIN = 1;

/**
 * Open descriptors a process may gain between the first and the last minute after the warm-up.
 * The main process's count is taken net of its clients' connections (the open loop opens more
 * when answers slow, and they stay open while idle): a descriptor leaked per request, session or
 * deploy would add hundreds to thousands in ten minutes.
 */
export const MAX_FD_GROWTH = 16;

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/** Least-squares slope and its standard error (NaN with fewer than three points). */
export function slopeWithError(points: [number, number][]): { slope: number; standardError: number } {
  const b = slope(points);
  const n = points.length;
  if (n < 3 || Number.isNaN(b)) return { slope: b, standardError: Number.NaN };
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let residuals = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    residuals += (y - (my + b * (x - mx))) ** 2;
    sxx += (x - mx) ** 2;
  }
  return { slope: b, standardError: Math.sqrt(residuals / (n - 2) / sxx) };
}

/** The highest value in each whole minute from `from` on: [minute, peak]. */
export function minutePeaks(points: [number, number][], from: number): [number, number][] {
  const peaks = new Map<number, number>();
  for (const [t, value] of points) {
    if (t < from) continue;
    const minute = Math.floor((t - from) / 60);
    peaks.set(minute, Math.max(peaks.get(minute) ?? Number.NEGATIVE_INFINITY, value));
  }
  return [...peaks].sort(([a], [b]) => a - b);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Warm-up: the first 20% of the run, at most 2 minutes. */
export function warmupSeconds(runSeconds: number): number {
  return Math.min(120, runSeconds * 0.2);
}

export interface ProcessTrend {
  pid: number;
  role: string;
  /** Seconds of the run during which the process was seen. */
  from: number;
  to: number;
  /** Present through the whole window after the warm-up: its slope and descriptor change are judged. */
  steady: boolean;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  /** Least squares over every sample of the window after the warm-up (steady processes only). */
  rssSlopeMbPerMin: number;
  /** Least squares over the window's per-minute peaks, and its standard error: what the verdict judges. */
  rssPeakSlopeMbPerMin: number;
  rssPeakSlopeError: number;
  fdStart: number;
  fdEnd: number;
  fdMax: number;
  /** Median of the window's last minute minus median of its first minute (main: net of client connections). */
  fdGrowth: number;
}

export function processTrends(samples: Sample[], warmup: number): ProcessTrend[] {
  const end = samples[samples.length - 1]?.t ?? 0;
  const byPid = new Map<
    number,
    { role: string; points: { t: number; rssMb: number; fds: number; ownFds: number }[] }
  >();
  for (const sample of samples) {
    for (const p of sample.processes) {
      if (p.rssMb === 0) continue; // it ended between the listing and the read
      const entry = byPid.get(p.pid) ?? { role: p.role, points: [] };
      byPid.set(p.pid, entry);
      // The main process holds one descriptor per client connection: counted apart.
      const clientFds = p.role === "main" ? sample.connections : 0;
      entry.points.push({ t: sample.t, rssMb: p.rssMb, fds: p.fds, ownFds: p.fds - clientFds });
    }
  }
  const minute = Math.min(60, (end - warmup) / 4);
  return [...byPid].map(([pid, { role, points }]) => {
    const from = points[0]?.t ?? 0;
    const to = points[points.length - 1]?.t ?? 0;
    // Seen within a few seconds of both ends of the window: not started or replaced during it.
    const steady = from <= warmup + 2 && to >= end - 2;
    const window = steady ? points.filter((p) => p.t >= warmup) : points;
    const first = window.filter((p) => p.t <= (window[0]?.t ?? 0) + minute);
    const last = window.filter((p) => p.t >= to - minute);
    return {
      pid,
      role,
      from,
      to,
      steady,
      rssStartMb: window[0]?.rssMb ?? Number.NaN,
      rssEndMb: window[window.length - 1]?.rssMb ?? Number.NaN,
      rssMaxMb: Math.max(...points.map((p) => p.rssMb)),
      rssSlopeMbPerMin: steady ? slope(window.map((p) => [p.t / 60, p.rssMb])) : Number.NaN,
      ...peakTrend(steady ? window.map((p) => [p.t, p.rssMb]) : [], warmup),
      fdStart: window[0]?.fds ?? Number.NaN,
      fdEnd: window[window.length - 1]?.fds ?? Number.NaN,
      fdMax: Math.max(...points.map((p) => p.fds)),
      fdGrowth: median(last.map((p) => p.ownFds)) - median(first.map((p) => p.ownFds)),
    };
  });
}

function peakTrend(points: [number, number][], from: number) {
  const { slope: b, standardError } = slopeWithError(minutePeaks(points, from));
  return { rssPeakSlopeMbPerMin: b, rssPeakSlopeError: standardError };
}

/**
 * CPU seconds the sampled processes used during the samples: each process from its first to its
 * last sample (a shard replaced mid-run counts until it was last seen, its replacement from then).
 */
export function cpuSecondsUsed(samples: Sample[]): number {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  for (const sample of samples) {
    for (const p of sample.processes) {
      if (p.cpuSeconds === 0) continue;
      if (!first.has(p.pid)) first.set(p.pid, p.cpuSeconds);
      last.set(p.pid, p.cpuSeconds);
    }
  }
  return [...last].reduce((sum, [pid, seconds]) => sum + seconds - (first.get(pid) ?? seconds), 0);
}

/** A metric's series over the samples that scraped it: [t, value]. */
export function metricSeries(samples: Sample[], name: string): [number, number][] {
  return samples.flatMap((s) => (s.metrics?.[name] === undefined ? [] : [[s.t, s.metrics[name]] as [number, number]]));
}

/**
 * Why the run fails (`reasons`; none: it passes), and what it could not settle (`unresolved`:
 * a process whose peaks may grow faster than the threshold, or may not, at this run's length).
 */
export function verdict(input: { errors: number; trends: ProcessTrend[] }): {
  reasons: string[];
  unresolved: string[];
} {
  const reasons: string[] = [];
  const unresolved: string[] = [];
  if (input.errors > 0) reasons.push(`${input.errors} errors`);
  for (const trend of input.trends) {
    if (!trend.steady) continue;
    const name = `${trend.role} (pid ${trend.pid})`;
    const { rssPeakSlopeMbPerMin: b, rssPeakSlopeError: error } = trend;
    const growth = `RSS peaks ${b >= 0 ? "+" : ""}${b.toFixed(2)} ± ${error.toFixed(2)} MB/min`;
    if (Number.isNaN(error)) unresolved.push(`${name}: too few minutes after the warm-up to judge its RSS`);
    else if (b - 2 * error > MAX_SLOPE_MB_PER_MIN) reasons.push(`${name}: ${growth} > ${MAX_SLOPE_MB_PER_MIN}`);
    else if (b + 2 * error > MAX_SLOPE_MB_PER_MIN)
      unresolved.push(`${name}: ${growth}: neither above nor below ${MAX_SLOPE_MB_PER_MIN} at this length`);
    if (trend.fdGrowth > MAX_FD_GROWTH) reasons.push(`${name}: ${trend.fdGrowth} more descriptors > ${MAX_FD_GROWTH}`);
  }
  return { reasons, unresolved };
}

/** The last window's latency over the first one's (p50 and p99): above 1, the run got slower. */
export function drift(windows: LatencyFigures[]): { p50: number; p99: number } {
  const first = windows[0];
  const last = windows[windows.length - 1];
  if (!first || !last) return { p50: Number.NaN, p99: Number.NaN };
  return { p50: last.p50Ms / first.p50Ms, p99: last.p99Ms / first.p99Ms };
}
