import { bucketOf, emptyHistogram, type UsageOutcome, usageQuery } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { Problem } from "../src/http/problems.ts";
import { aggregateUsage, type UsageGroup } from "../src/observe/usage-aggregate.ts";
import { stepMs, USAGE_WINDOW, usageWindow } from "../src/observe/usage-window.ts";

const NOW = new Date("2026-03-10T12:34:56.789Z");

describe("stepMs", () => {
  it.each([
    ["1m", 60_000],
    ["5m", 300_000],
    ["15m", 900_000],
    ["1h", 3_600_000],
    ["6h", 21_600_000],
    ["1d", 86_400_000],
    ["7d", 604_800_000],
    ["0m", undefined],
    ["01m", undefined],
    ["1s", undefined],
    ["1.5h", undefined],
    ["h", undefined],
    ["1H", undefined],
    [" 1h", undefined],
    ["1w", undefined],
  ])("%j is %s ms", (step, expected) => {
    expect(stepMs(step)).toBe(expected);
  });
});

describe("usageWindow", () => {
  it.each([
    [
      "the last 24 hours by the hour, by default, to the end of this hour",
      {},
      { from: "2026-03-09T12:00:00.000Z", to: "2026-03-10T13:00:00.000Z", step: "1h", buckets: 25 },
    ],
    [
      "from and to on boundaries stay as they are",
      { from: "2026-03-01T00:00:00Z", to: "2026-03-08T00:00:00Z", step: "1d" },
      { from: "2026-03-01T00:00:00.000Z", to: "2026-03-08T00:00:00.000Z", step: "1d", buckets: 7 },
    ],
    [
      "from rounded down and to rounded up to the step",
      { from: "2026-03-10T10:07:00Z", to: "2026-03-10T10:31:00Z", step: "5m" },
      { from: "2026-03-10T10:05:00.000Z", to: "2026-03-10T10:35:00.000Z", step: "5m", buckets: 6 },
    ],
    [
      "an offset is a time like any other",
      { from: "2026-03-10T10:00:00+02:00", to: "2026-03-10T11:00:00+02:00", step: "15m" },
      { from: "2026-03-10T08:00:00.000Z", to: "2026-03-10T09:00:00.000Z", step: "15m", buckets: 4 },
    ],
    [
      "only from: until now",
      { from: "2026-03-10T12:00:00Z", step: "1m" },
      { from: "2026-03-10T12:00:00.000Z", to: "2026-03-10T12:35:00.000Z", step: "1m", buckets: 35 },
    ],
    [
      "only to: the 24 hours before it",
      { to: "2026-01-02T00:00:00Z" },
      { from: "2026-01-01T00:00:00.000Z", to: "2026-01-02T00:00:00.000Z", step: "1h", buckets: 24 },
    ],
    [
      "a window inside one step is that whole step",
      { from: "2026-03-10T10:05:00Z", to: "2026-03-10T10:06:00Z", step: "1d" },
      { from: "2026-03-10T00:00:00.000Z", to: "2026-03-11T00:00:00.000Z", step: "1d", buckets: 1 },
    ],
    [
      "a day by the minute is the most buckets there may be",
      { from: "2026-03-09T00:00:00Z", to: "2026-03-10T00:00:00Z", step: "1m" },
      { from: "2026-03-09T00:00:00.000Z", to: "2026-03-10T00:00:00.000Z", step: "1m", buckets: 1440 },
    ],
  ])("%s", (_name, query, expected) => {
    const window = usageWindow(usageQuery.parse(query), NOW);
    expect({ ...window, from: window.from.toISOString(), to: window.to.toISOString() }).toEqual({
      ...expected,
      stepMs: stepMs(expected.step),
    });
  });

  it.each([
    ["from equal to to", { from: "2026-03-10T10:00:00Z", to: "2026-03-10T10:00:00Z" }, /from must be before to/],
    ["from after to", { from: "2026-03-11T00:00:00Z", to: "2026-03-10T00:00:00Z" }, /from must be before to/],
    ["only from, in the future", { from: "2026-03-11T00:00:00Z" }, /from must be before to/],
    [
      "more than a day by the minute",
      { from: "2026-03-09T00:00:00Z", to: "2026-03-10T00:01:00Z", step: "1m" },
      /makes 1441 steps; at most 1440: choose a larger step or a shorter range/,
    ],
    ["a year by the hour", { from: "2025-03-10T00:00:00Z", to: "2026-03-10T00:00:00Z" }, /makes 8760 steps/],
    ["a step longer than a year", { step: "367d" }, /step is at most 366d/],
  ])("refuses %s with a 400 problem", (_name, query, message) => {
    let thrown: unknown;
    try {
      usageWindow(usageQuery.parse(query), NOW);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Problem);
    expect((thrown as Problem).status).toBe(400);
    expect((thrown as Problem).message).toMatch(message);
  });

  it("sizes the limit so that the default query fits", () => {
    expect(usageWindow({}, NOW).buckets).toBeLessThanOrEqual(USAGE_WINDOW.maxBuckets);
  });
});

describe("usageQuery (the contract)", () => {
  it.each([
    [{ from: "yesterday" }, "from"],
    [{ to: "2026-03-10" }, "to"],
    [{ step: "1s" }, "step"],
    [{ step: "60" }, "step"],
    [{ tool: "echo" }, ""],
  ])("refuses %j", (query, path) => {
    const result = usageQuery.safeParse(query);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join(".") ?? "").toBe(path);
  });
});

/** A group of `calls` calls that each took `ms` milliseconds. */
function group(bucket: number, tool: string, outcome: UsageOutcome, calls: number, ms: number, bytes = 0): UsageGroup {
  const histogram = emptyHistogram();
  histogram[bucketOf(ms)] = calls;
  return { bucket, tool, outcome, calls, durationMs: calls * ms, bytesIn: bytes, bytesOut: 2 * bytes, histogram };
}

const window = usageWindow(usageQuery.parse({ from: "2026-03-10T00:00:00Z", to: "2026-03-10T03:00:00Z" }), NOW);
const none = { ok: 0, tool_error: 0, protocol_error: 0, limit: 0, timeout: 0, crash: 0 };
const noLatency = { p50: null, p95: null, p99: null, mean: null };
const nothing = { calls: 0, errors: 0, outcomes: none, latencyMs: noLatency, bytesIn: 0, bytesOut: 0 };

describe("aggregateUsage", () => {
  it("answers every step of an empty window with zeros and no latencies", () => {
    expect(aggregateUsage("quiet", window, [])).toEqual({
      server: "quiet",
      from: "2026-03-10T00:00:00.000Z",
      to: "2026-03-10T03:00:00.000Z",
      step: "1h",
      totals: nothing,
      series: [
        { start: "2026-03-10T00:00:00.000Z", ...nothing },
        { start: "2026-03-10T01:00:00.000Z", ...nothing },
        { start: "2026-03-10T02:00:00.000Z", ...nothing },
      ],
      tools: [],
    });
  });

  it("adds groups up by step, by tool and in total; errors are every outcome but ok", () => {
    const view = aggregateUsage("busy", window, [
      group(0, "search", "ok", 10, 4, 100),
      group(0, "search", "tool_error", 2, 4, 10),
      group(0, "fetch", "ok", 3, 4),
      group(2, "fetch", "timeout", 1, 4),
      group(2, "fetch", "limit", 1, 4),
      group(2, "zeta", "ok", 12, 4),
    ]);
    expect(view.totals).toMatchObject({
      calls: 29,
      errors: 4,
      outcomes: { ...none, ok: 25, tool_error: 2, timeout: 1, limit: 1 },
      bytesIn: 110,
      bytesOut: 220,
    });
    expect(view.series.map((s) => [s.start.slice(11, 16), s.calls, s.errors])).toEqual([
      ["00:00", 15, 2],
      ["01:00", 0, 0],
      ["02:00", 14, 2],
    ]);
    expect(view.series[1]).toEqual({ start: "2026-03-10T01:00:00.000Z", ...nothing });
    // Most called first; a tie in calls goes by name.
    expect(view.tools.map((t) => [t.tool, t.calls, t.errors, t.outcomes.ok])).toEqual([
      ["search", 12, 2, 10],
      ["zeta", 12, 0, 12],
      ["fetch", 5, 2, 3],
    ]);
  });

  it.each([
    // All in the (3, 5] ms bucket: ranks interpolate inside it.
    ["ten calls of 4 ms", [group(0, "t", "ok", 10, 4)], { p50: 4, p95: 5, p99: 5, mean: 4 }],
    // 90 fast, 10 slow: the median is fast, the tail is slow.
    [
      "90 calls of 1 ms and 10 of 800 ms",
      [group(0, "t", "ok", 90, 1), group(0, "t", "tool_error", 10, 800)],
      { p50: 0.556, p95: 875, p99: 975, mean: 80.9 },
    ],
    // Slower than the last bound: the last bucket stands for up to twice the last bound.
    [
      "one call of 2 minutes",
      [group(1, "t", "crash", 1, 120_000)],
      { p50: 120_000, p95: 120_000, p99: 120_000, mean: 120_000 },
    ],
  ])("estimates percentiles from the summed histograms: %s", (_name, groups, latency) => {
    const view = aggregateUsage("s", window, groups);
    expect(view.totals.latencyMs).toEqual(latency);
    expect(view.tools[0]?.latencyMs).toEqual(latency);
    expect(view.series.find((s) => s.calls > 0)?.latencyMs).toEqual(latency);
  });

  it("keeps percentiles per step and per tool apart", () => {
    const view = aggregateUsage("s", window, [group(0, "fast", "ok", 5, 1), group(1, "slow", "ok", 5, 900)]);
    expect(view.series.map((s) => s.latencyMs.p99)).toEqual([1, 1000, null]);
    expect(view.tools.map((t) => [t.tool, t.latencyMs.p50])).toEqual([
      ["fast", 0.6],
      ["slow", 900],
    ]);
  });

  it("ignores groups outside the window", () => {
    const view = aggregateUsage("s", window, [group(-1, "t", "ok", 5, 1), group(3, "t", "ok", 5, 1)]);
    expect(view.totals).toEqual(nothing);
    expect(view.tools).toEqual([]);
  });
});
