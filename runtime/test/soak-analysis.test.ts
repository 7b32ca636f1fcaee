import { describe, expect, it } from "vitest";
import {
  MAX_SLOPE_MB_PER_MIN,
  minutePeaks,
  type ProcessTrend,
  slope,
  slopeWithError,
  verdict,
} from "../bench/soak-analysis.ts";

// The soak bench's judgement of its samples (runtime/bench/soak-analysis.ts): pure functions,
// so that what decides "leak" or "flat" is itself tested.

describe("slope and its standard error", () => {
  it.each<[string, [number, number][], number, number]>([
    [
      "a straight line",
      [
        [0, 1],
        [1, 3],
        [2, 5],
        [3, 7],
      ],
      2,
      0,
    ],
    [
      "flat",
      [
        [0, 5],
        [1, 5],
        [2, 5],
      ],
      0,
      0,
    ],
    [
      "noise around flat",
      [
        [0, 10],
        [1, 12],
        [2, 10],
        [3, 12],
      ],
      0.4,
      // Residuals -0.4, 1.2, -1.2, 0.4: sqrt(3.2 / 2 / 5).
      Math.sqrt(0.32),
    ],
  ])("%s", (_case, points, expectedSlope, expectedError) => {
    const { slope: b, standardError } = slopeWithError(points);
    expect(b).toBeCloseTo(expectedSlope, 5);
    expect(standardError).toBeCloseTo(expectedError, 5);
  });

  it("is NaN where it cannot be measured", () => {
    expect(slope([[1, 1]])).toBeNaN();
    expect(
      slope([
        [1, 1],
        [1, 2],
      ]),
    ).toBeNaN();
    expect(
      slopeWithError([
        [0, 1],
        [1, 2],
      ]).standardError,
    ).toBeNaN();
  });
});

describe("minutePeaks", () => {
  it("keeps each whole minute's highest value from the start of the window", () => {
    const points: [number, number][] = [
      [100, 999],
      [120, 5],
      [150, 9],
      [179, 7],
      [180, 3],
      [239, 4],
      [300, 8],
    ];
    expect(minutePeaks(points, 120)).toEqual([
      [0, 9],
      [1, 4],
      [3, 8],
    ]);
  });
});

const trend = (peakSlope: number, error: number, fdGrowth = 0): ProcessTrend => ({
  pid: 7,
  role: "main",
  from: 0,
  to: 600,
  steady: true,
  rssStartMb: 200,
  rssEndMb: 200,
  rssMaxMb: 300,
  rssSlopeMbPerMin: Number.NaN,
  rssPeakSlopeMbPerMin: peakSlope,
  rssPeakSlopeError: error,
  fdStart: 10,
  fdEnd: 10,
  fdMax: 12,
  fdGrowth,
});

describe("the soak's verdict", () => {
  it.each<[string, { errors: number; trends: ProcessTrend[] }, RegExp[], RegExp[]]>([
    ["no errors, flat", { errors: 0, trends: [trend(0.1, 0.2)] }, [], []],
    ["an error fails it", { errors: 1, trends: [trend(0, 0.1)] }, [/^1 errors$/], []],
    [
      "growth certainly above the threshold fails it",
      { errors: 0, trends: [trend(4, 1)] },
      [/RSS peaks \+4.00 ± 1.00 MB\/min > 1/],
      [],
    ],
    [
      "growth within the noise is unresolved, not failed",
      { errors: 0, trends: [trend(4, 5)] },
      [],
      [/neither above nor below 1/],
    ],
    ["a shrinking process passes", { errors: 0, trends: [trend(-3, 1)] }, [], []],
    ["too few minutes is unresolved", { errors: 0, trends: [trend(Number.NaN, Number.NaN)] }, [], [/too few minutes/]],
    ["descriptors growing fail it", { errors: 0, trends: [trend(0, 0.1, 40)] }, [/40 more descriptors > 16/], []],
  ])("%s", (_case, input, reasons, unresolved) => {
    const result = verdict(input);
    expect(result.reasons).toHaveLength(reasons.length);
    for (const [i, pattern] of reasons.entries()) expect(result.reasons[i]).toMatch(pattern);
    expect(result.unresolved).toHaveLength(unresolved.length);
    for (const [i, pattern] of unresolved.entries()) expect(result.unresolved[i]).toMatch(pattern);
  });

  it("judges against a threshold that matters within a day", () => {
    expect(MAX_SLOPE_MB_PER_MIN * 60 * 24).toBeLessThan(1.5 * 1024);
  });
});
