import { describe, expect, it } from "vitest";
import { ExportFailureLog, type ExportReport } from "../../src/observe/export-failures.ts";

type Step = ["ok", number] | ["fail", number, number];

/** Runs the steps ([outcome, at ms, spans]) and returns the lines, without the error text. */
function linesOf(steps: Step[]): Omit<ExportReport, "error">[] {
  const log = new ExportFailureLog(60_000);
  const lines: Omit<ExportReport, "error">[] = [];
  for (const step of steps) {
    const line = step[0] === "ok" ? log.succeeded(step[1]) : log.failed(step[1], step[2], "connect ECONNREFUSED");
    if (line) {
      const { error: _error, ...rest } = line;
      lines.push(rest);
    }
  }
  return lines;
}

const warn = (message: string, failedBatches: number, failedSpans: number) => ({
  level: "warn" as const,
  message,
  failedBatches,
  failedSpans,
});
const FIRST = "trace export failed: spans are being dropped";
const STILL = "trace export still failing";

describe("what a node logs about trace exports", () => {
  it.each<[string, Step[], Omit<ExportReport, "error">[]]>([
    [
      "nothing while exports succeed",
      [
        ["ok", 0],
        ["ok", 5000],
      ],
      [],
    ],
    ["the first failure at once", [["fail", 0, 12]], [warn(FIRST, 1, 12)]],
    [
      "no more than a line a minute while failures go on, counting what was lost since the last",
      [
        ["fail", 0, 12],
        ["fail", 5000, 3],
        ["fail", 30_000, 4],
        ["fail", 60_000, 5],
        ["fail", 65_000, 1],
      ],
      [warn(FIRST, 1, 12), warn(STILL, 3, 12)],
    ],
    [
      "the recovery, with what was lost since the last line",
      [
        ["fail", 0, 12],
        ["fail", 5000, 3],
        ["ok", 10_000],
        ["ok", 15_000],
      ],
      [warn(FIRST, 1, 12), { level: "info", message: "trace export recovered", failedBatches: 1, failedSpans: 3 }],
    ],
    [
      "a new outage after a recovery is a first failure again, however soon",
      [
        ["fail", 0, 2],
        ["ok", 5000],
        ["fail", 10_000, 7],
      ],
      [
        warn(FIRST, 1, 2),
        { level: "info", message: "trace export recovered", failedBatches: 0, failedSpans: 0 },
        warn(FIRST, 1, 7),
      ],
    ],
  ])("%s", (_case, steps, expected) => {
    expect(linesOf(steps)).toEqual(expected);
  });

  it("carries the last failure's reason", () => {
    expect(new ExportFailureLog().failed(0, 1, "OTLPExporterError: Internal Server Error")?.error).toBe(
      "OTLPExporterError: Internal Server Error",
    );
  });
});
