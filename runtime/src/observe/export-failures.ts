// What a node says about its trace exports. A collector that is down would otherwise lose every
// span in silence (the SDK reports to a diagnostics logger nobody reads); a line per failed batch
// would flood the log instead (a batch every 5 s per node). So: the first failure at once, then
// at most a line a minute while failures go on, and a line when exports succeed again.

export interface ExportReport {
  level: "warn" | "info";
  message: string;
  /** Batches and spans lost since the previous line. */
  failedBatches: number;
  failedSpans: number;
  /** The last failure's reason. */
  error?: string;
}

export class ExportFailureLog {
  readonly #intervalMs: number;
  #failing = false;
  #lastLineAt = Number.NEGATIVE_INFINITY;
  #batches = 0;
  #spans = 0;

  constructor(intervalMs = 60_000) {
    this.#intervalMs = intervalMs;
  }

  failed(now: number, spans: number, error: string): ExportReport | undefined {
    this.#batches++;
    this.#spans += spans;
    const first = !this.#failing;
    this.#failing = true;
    if (!first && now - this.#lastLineAt < this.#intervalMs) return undefined;
    return this.#line(now, {
      level: "warn",
      message: first ? "trace export failed: spans are being dropped" : "trace export still failing",
      error,
    });
  }

  succeeded(now: number): ExportReport | undefined {
    if (!this.#failing) return undefined;
    this.#failing = false;
    return this.#line(now, { level: "info", message: "trace export recovered" });
  }

  #line(now: number, line: Pick<ExportReport, "level" | "message" | "error">): ExportReport {
    const report = { ...line, failedBatches: this.#batches, failedSpans: this.#spans };
    this.#lastLineAt = now;
    this.#batches = 0;
    this.#spans = 0;
    return report;
  }
}
