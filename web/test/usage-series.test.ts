// The metrics page's shaping of a usage answer into chart points, and its small formatters.
import type { UsageView } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { errorKinds, errorRate, formatMs, stepLabel, usagePoints, usageQueryOf } from "../app/lib/usage-series.ts";

const stats = (calls: number, outcomes: Record<string, number>, p50: number | null = null) => ({
  calls,
  errors: calls - (outcomes.ok ?? 0),
  outcomes,
  latencyMs: { p50, p95: p50 === null ? null : p50 * 2, p99: p50 === null ? null : p50 * 3, mean: p50 },
  bytesIn: 0,
  bytesOut: 0,
});

const usage = {
  step: "1h",
  series: [
    { start: "2026-03-01T10:00:00.000Z", ...stats(0, {}) },
    { start: "2026-03-01T11:00:00.000Z", ...stats(3, { ok: 2, tool_error: 1 }, 10) },
    { start: "2026-03-01T12:00:00.000Z", ...stats(2, { ok: 1, timeout: 1 }, 20) },
  ],
} as unknown as Pick<UsageView, "series" | "step">;

describe("usagePoints", () => {
  it("names the error kinds that occur, ok left out", () => {
    expect(errorKinds(usage)).toEqual(["timeout", "tool_error"]);
    expect(errorKinds({ series: [] })).toEqual([]);
  });

  it("gives one point per step, empty steps included, with every kind counted (0 when absent)", () => {
    expect(usagePoints(usage)).toEqual([
      {
        label: "10:00",
        start: "2026-03-01T10:00:00.000Z",
        calls: 0,
        errors: 0,
        p50: null,
        p95: null,
        p99: null,
        timeout: 0,
        tool_error: 0,
      },
      {
        label: "11:00",
        start: "2026-03-01T11:00:00.000Z",
        calls: 3,
        errors: 1,
        p50: 10,
        p95: 20,
        p99: 30,
        timeout: 0,
        tool_error: 1,
      },
      {
        label: "12:00",
        start: "2026-03-01T12:00:00.000Z",
        calls: 2,
        errors: 1,
        p50: 20,
        p95: 40,
        p99: 60,
        timeout: 1,
        tool_error: 0,
      },
    ]);
  });
});

describe("formatters", () => {
  it.each([
    ["2026-03-01T10:05:00.000Z", "1m", "10:05"],
    ["2026-03-01T10:00:00.000Z", "1h", "10:00"],
    ["2026-03-01T18:00:00.000Z", "6h", "03-01 18:00"],
    ["2026-03-01T00:00:00.000Z", "1d", "03-01"],
  ])("labels %s at step %s as %s", (start, step, label) => {
    expect(stepLabel(start, step)).toBe(label);
  });

  it.each([
    [{ calls: 0, errors: 0 }, null],
    [{ calls: 3, errors: 1 }, 33.3],
    [{ calls: 4, errors: 4 }, 100],
  ])("error rate of %j is %s", (input, rate) => {
    expect(errorRate(input)).toBe(rate);
  });

  it.each([
    [null, "–"],
    [12.4, "12 ms"],
    [1234, "1.2 s"],
  ])("latency %s reads %s", (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it("asks for a range ending now with its step", () => {
    const query = new URLSearchParams(usageQueryOf("24h", new Date("2026-03-02T00:00:00.000Z")));
    expect(Object.fromEntries(query)).toEqual({
      from: "2026-03-01T00:00:00.000Z",
      to: "2026-03-02T00:00:00.000Z",
      step: "1h",
    });
  });
});
