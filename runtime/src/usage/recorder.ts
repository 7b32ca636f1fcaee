import type { Database, UsageOutcome } from "@isola/schema";
import { addInto, bucketOf, emptyHistogram } from "@isola/schema";
import { type Kysely, sql } from "kysely";

export interface UsageEvent {
  serverId: string;
  /** For metrics labels only; rows are keyed by the id. */
  slug: string;
  orgId: string;
  version: number;
  tool: string;
  caller: string;
  outcome: UsageOutcome;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  at: Date;
}

interface Row {
  serverId: string;
  orgId: string;
  minute: Date;
  version: number;
  tool: string;
  caller: string;
  outcome: UsageOutcome;
  calls: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  histogram: number[];
}

export interface RecorderOptions {
  /** Rows (distinct server/minute/version/tool/caller/outcome) held before new events are dropped. */
  maxPendingRows?: number;
  /** Rows per INSERT. */
  batchSize?: number;
  /** Sees every event as it is recorded, dropped ones included (this node's metrics). */
  onRecord?(event: UsageEvent): void;
}

/**
 * Usage, aggregated in memory by minute and flushed to Postgres in batches. Memory is bounded:
 * past maxPendingRows new events are dropped and counted (reported in metrics), never the
 * process. A failed flush keeps its rows for the next one. stop() flushes what is left, so a
 * graceful shutdown loses nothing accepted.
 */
export class UsageRecorder {
  readonly #db: Kysely<Database>;
  readonly #maxPendingRows: number;
  readonly #batchSize: number;
  readonly #onRecord: ((event: UsageEvent) => void) | undefined;
  #pending = new Map<string, Row>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  dropped = 0;
  flushFailures = 0;

  constructor(db: Kysely<Database>, options: RecorderOptions = {}) {
    this.#db = db;
    this.#maxPendingRows = options.maxPendingRows ?? 50_000;
    this.#batchSize = options.batchSize ?? 500;
    this.#onRecord = options.onRecord;
  }

  get pendingRows(): number {
    return this.#pending.size;
  }

  record(event: UsageEvent): void {
    this.#onRecord?.(event);
    const minute = new Date(Math.floor(event.at.getTime() / 60_000) * 60_000);
    const key = [event.serverId, minute.getTime(), event.version, event.tool, event.caller, event.outcome].join(
      "\u0000",
    );
    let row = this.#pending.get(key);
    if (!row) {
      if (this.#pending.size >= this.#maxPendingRows) {
        this.dropped++;
        return;
      }
      row = { ...event, minute, calls: 0, durationMs: 0, bytesIn: 0, bytesOut: 0, histogram: emptyHistogram() };
      this.#pending.set(key, row);
    }
    row.calls++;
    row.durationMs += event.durationMs;
    row.bytesIn += event.bytesIn;
    row.bytesOut += event.bytesOut;
    row.histogram[bucketOf(event.durationMs)] = (row.histogram[bucketOf(event.durationMs)] ?? 0) + 1;
  }

  start(intervalMs = 5000): void {
    this.#timer ??= setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** Writes what is pending. Concurrent calls share one flush. */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    const rows = [...this.#pending.values()];
    this.#pending = new Map();
    for (let i = 0; i < rows.length; i += this.#batchSize) {
      const batch = rows.slice(i, i + this.#batchSize);
      try {
        await this.#insert(batch);
      } catch {
        this.flushFailures++;
        // Keep what did not make it for the next flush (merged with what arrived meanwhile).
        for (const row of rows.slice(i)) this.#merge(row);
        return;
      }
    }
  }

  #merge(row: Row): void {
    const key = [row.serverId, row.minute.getTime(), row.version, row.tool, row.caller, row.outcome].join("\u0000");
    const existing = this.#pending.get(key);
    if (!existing) {
      if (this.#pending.size >= this.#maxPendingRows) {
        this.dropped += row.calls;
        return;
      }
      this.#pending.set(key, row);
      return;
    }
    existing.calls += row.calls;
    existing.durationMs += row.durationMs;
    existing.bytesIn += row.bytesIn;
    existing.bytesOut += row.bytesOut;
    addInto(existing.histogram, row.histogram);
  }

  async #insert(batch: Row[]): Promise<void> {
    await this.#db
      .insertInto("usage_minutely")
      .values(
        batch.map((row) => ({
          server_id: row.serverId,
          org_id: row.orgId,
          minute: row.minute,
          version: row.version,
          tool: row.tool,
          caller: row.caller,
          outcome: row.outcome,
          calls: row.calls,
          duration_ms: row.durationMs,
          bytes_in: row.bytesIn,
          bytes_out: row.bytesOut,
          latency_histogram: row.histogram,
        })),
      )
      .onConflict((c) =>
        c.columns(["server_id", "minute", "version", "tool", "caller", "outcome"]).doUpdateSet({
          calls: sql`usage_minutely.calls + excluded.calls`,
          duration_ms: sql`usage_minutely.duration_ms + excluded.duration_ms`,
          bytes_in: sql`usage_minutely.bytes_in + excluded.bytes_in`,
          bytes_out: sql`usage_minutely.bytes_out + excluded.bytes_out`,
          latency_histogram: sql`array(select a + b from unnest(usage_minutely.latency_histogram, excluded.latency_histogram) as t(a, b))`,
        }),
      )
      .execute();
  }

  /** Stops the timer and flushes what is left (graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // A flush already running took only what was pending when it began: write the rest after it.
    await this.#flushing;
    await this.flush();
  }
}
