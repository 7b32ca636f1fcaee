import { afterEach, describe, expect, it } from "vitest";
import type { ExportReport } from "../../src/observe/export-failures.ts";
import { startTracing, type Tracing } from "../../src/observe/tracing.ts";
import { type Api, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { deploySource, initializeRequest, inject, quickDatabase } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.ts";

// A collector that fails loses spans; the node says so in its log (once, then at most a line a
// minute) and says when exports work again, instead of dropping them in silence.

let receiver: OtlpReceiver | undefined;
let tracing: Tracing | undefined;
let api: Api | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  await api?.close();
  await receiver?.close();
  tracing = api = receiver = undefined;
});

describe("trace export failures", () => {
  it("are reported once while they last, with the spans lost, and the recovery after", async () => {
    receiver = await startOtlpReceiver();
    receiver.failWith = 500;
    const reports: ExportReport[] = [];
    tracing = await startTracing({
      endpoint: receiver.url,
      protocol: "http/json",
      serviceName: "export-failures",
      scheduledDelayMs: 20,
      onExportReport: (report) => reports.push(report),
    });
    for (let batch = 0; batch < 3; batch++) {
      await tracing.span(`lost ${batch}`, {}, async () => {});
      await eventually(() => ((receiver?.refused ?? 0) > batch ? true : undefined));
    }
    expect(reports).toEqual([
      expect.objectContaining({
        level: "warn",
        message: "trace export failed: spans are being dropped",
        failedBatches: 1,
        failedSpans: 1,
        error: expect.stringContaining("Internal Server Error"),
      }),
    ]);

    receiver.failWith = undefined;
    await tracing.span("kept", {}, async () => {});
    await eventually(() => (reports.length === 2 ? true : undefined));
    expect(reports[1]).toMatchObject({
      level: "info",
      message: "trace export recovered",
      failedBatches: 2,
      failedSpans: 2,
    });
    expect(receiver.spans.map((span) => span.name)).toEqual(["kept"]);
  });

  it("reach the node's log", async () => {
    receiver = await startOtlpReceiver();
    receiver.failWith = 500;
    api = await startApi(quickDatabase(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    });
    await deploySource(api.admin, "traced", HELLO_SOURCE);
    const opened = await inject(api.app, "/traced/mcp", { body: JSON.stringify(initializeRequest()) });
    expect(opened.status).toBe(200);
    // The SDK exports every 5 s.
    const line = await eventually(
      () =>
        api?.logs
          .map((text) => JSON.parse(text) as { level: number; msg: string; traceExport?: ExportReport })
          .find((entry) => entry.msg === "trace export failed: spans are being dropped"),
      15_000,
    );
    expect(line.level).toBe(40); // pino's warn
    expect(line.traceExport?.failedSpans).toBeGreaterThanOrEqual(1);
  });
});
