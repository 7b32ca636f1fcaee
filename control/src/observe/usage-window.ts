import { USAGE_STEP, type UsageQuery } from "@isola/schema";
import { problem } from "../http/problems.ts";

// Which buckets a usage query asks for. Pure: `now` is an argument.

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const USAGE_WINDOW = {
  /** A day by the minute; more buckets than a chart can show is a mistake, not a request. */
  maxBuckets: 1440,
  maxStepMs: 366 * UNIT_MS.d,
  defaultRangeMs: 24 * UNIT_MS.h,
  defaultStep: "1h",
} as const;

export interface UsageWindow {
  /** Inclusive, on a step boundary (steps are aligned to the Unix epoch, so days start at 00:00 UTC). */
  from: Date;
  /** Exclusive, on a step boundary. */
  to: Date;
  step: string;
  stepMs: number;
  buckets: number;
}

/** A step's length in milliseconds, or undefined when it is not one (1m, 5m, 1h, 1d...). */
export function stepMs(step: string): number | undefined {
  const match = USAGE_STEP.exec(step);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * The window a query covers: the last 24 hours by default, `from` rounded down and `to` rounded
 * up to whole steps. Problems (400) for a window that is empty, or has more buckets than a chart needs.
 */
export function usageWindow(query: UsageQuery, now: Date): UsageWindow {
  const step = query.step ?? USAGE_WINDOW.defaultStep;
  const size = stepMs(step);
  if (size === undefined) throw problem("invalid-request", `step ${step} is not a number of minutes, hours or days`);
  if (size > USAGE_WINDOW.maxStepMs) throw problem("invalid-request", "step is at most 366d");
  const to = query.to ? Date.parse(query.to) : now.getTime();
  const from = query.from ? Date.parse(query.from) : to - USAGE_WINDOW.defaultRangeMs;
  if (!(from < to)) throw problem("invalid-request", "from must be before to");
  const start = Math.floor(from / size) * size;
  const end = Math.ceil(to / size) * size;
  const buckets = (end - start) / size;
  if (buckets > USAGE_WINDOW.maxBuckets) {
    throw problem(
      "invalid-request",
      `from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} by ${step} makes ${buckets} steps; at most ${USAGE_WINDOW.maxBuckets}: choose a larger step or a shorter range`,
    );
  }
  return { from: new Date(start), to: new Date(end), step, stepMs: size, buckets };
}
