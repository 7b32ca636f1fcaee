import { BUCKETS, type Database, type UsageOutcome } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import type { UsageGroup } from "./usage-aggregate.ts";
import type { UsageWindow } from "./usage-window.ts";

interface Row {
  bucket: number;
  tool: string;
  outcome: UsageOutcome;
  calls: number;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
  /** The histogram's non-empty cells: 1-based indexes and their counts. */
  cells: number[] | null;
  counts: number[] | null;
}

/**
 * A server's usage in `window`, summed by step, tool and outcome in the database (versions and
 * callers added together), so that a long window moves a few rows, not every minute. Sums are
 * double precision: pg and PGlite return bigint differently.
 */
export async function usageGroups(db: Kysely<Database>, serverId: string, window: UsageWindow): Promise<UsageGroup[]> {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const stepSeconds = window.stepMs / 1000;
  const { rows } = await sql<Row>`
    with minutes as (
      select floor(extract(epoch from (minute - ${from}::timestamptz))::float8 / ${stepSeconds}::float8)::int as bucket,
        tool, outcome, calls, duration_ms, bytes_in, bytes_out, latency_histogram
      from usage_minutely
      where server_id = ${serverId} and minute >= ${from}::timestamptz and minute < ${to}::timestamptz
    ),
    sums as (
      select bucket, tool, outcome, sum(calls)::float8 as calls, sum(duration_ms)::float8 as duration_ms,
        sum(bytes_in)::float8 as bytes_in, sum(bytes_out)::float8 as bytes_out
      from minutes group by bucket, tool, outcome
    ),
    cells as (
      select bucket, tool, outcome, cell.i::int as i, sum(cell.n)::float8 as n
      from minutes cross join lateral unnest(latency_histogram) with ordinality as cell(n, i)
      where cell.n > 0
      group by bucket, tool, outcome, cell.i
    ),
    histograms as (
      select bucket, tool, outcome, array_agg(i order by i) as cells, array_agg(n order by i) as counts
      from cells group by bucket, tool, outcome
    )
    select s.*, h.cells, h.counts from sums s left join histograms h using (bucket, tool, outcome)
    order by s.bucket, s.tool, s.outcome
  `.execute(db);
  return rows.map((row) => {
    const histogram = new Array<number>(BUCKETS).fill(0);
    for (const [i, cell] of (row.cells ?? []).entries()) {
      // Postgres arrays count from 1; a cell past the last bucket (a longer histogram) is the slowest.
      const index = Math.min(cell - 1, BUCKETS - 1);
      histogram[index] = (histogram[index] ?? 0) + Number(row.counts?.[i] ?? 0);
    }
    return {
      bucket: row.bucket,
      tool: row.tool,
      outcome: row.outcome,
      calls: Number(row.calls),
      durationMs: Number(row.duration_ms),
      bytesIn: Number(row.bytes_in),
      bytesOut: Number(row.bytes_out),
      histogram,
    };
  });
}
