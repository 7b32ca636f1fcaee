import { z } from "zod";
import { USAGE_OUTCOMES } from "../db/tables.ts";

/** A step: a whole number of minutes, hours or days (1m, 5m, 1h, 1d), the usage table's grain being a minute. */
export const USAGE_STEP = /^([1-9]\d{0,4})([mhd])$/;

const datetime = z.iso.datetime({ offset: true, error: "expected an ISO 8601 date-time such as 2025-01-31T12:00:00Z" });

/**
 * GET /servers/{slug}/usage. Without from and to: the last 24 hours; without step: 1h. The window
 * is aligned to the step (from rounded down, to rounded up), so that every bucket is whole.
 */
export const usageQuery = z
  .object({
    from: datetime.optional(),
    to: datetime.optional(),
    step: z.string().regex(USAGE_STEP, "a whole number of minutes, hours or days, such as 1m, 5m, 1h or 1d").optional(),
  })
  .strict();

/** Latency percentiles in milliseconds, estimated from fixed-bucket histograms; null without calls. */
export const latencyView = z.object({
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  mean: z.number().nullable(),
});

const count = z.number().int().min(0);

export const usageStats = z.object({
  calls: count,
  /** Calls that did not end ok (the sum of every other outcome). */
  errors: count,
  /** Calls by how they ended: ok, a tool error, a protocol error, a limit, a timeout, a crash. */
  outcomes: z.record(z.enum(USAGE_OUTCOMES), count),
  latencyMs: latencyView,
  bytesIn: z.number().min(0),
  bytesOut: z.number().min(0),
});

export const usageView = z.object({
  server: z.string(),
  /** The window actually reported: from inclusive, to exclusive, both on step boundaries (UTC). */
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  step: z.string(),
  totals: usageStats,
  /** Every step of the window, oldest first, empty ones included. */
  series: z.array(usageStats.extend({ start: z.iso.datetime() })),
  /** Each tool called in the window, most called first. */
  tools: z.array(usageStats.extend({ tool: z.string() })),
});

export type UsageQuery = z.infer<typeof usageQuery>;
export type UsageStats = z.infer<typeof usageStats>;
export type UsageView = z.infer<typeof usageView>;

/** A calendar month (UTC): 2026-01. */
export const USAGE_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** GET /orgs/{org}/usage. Without month: the current one, the period the monthly quota counts. */
export const orgUsageQuery = z
  .object({ month: z.string().regex(USAGE_MONTH, "a month such as 2026-01 (YYYY-MM)").optional() })
  .strict();

export const orgUsageView = z.object({
  org: z.string(),
  month: z.string(),
  /** The calendar month (UTC): from inclusive, to exclusive (the first instant of the next month). */
  period: z.object({ from: z.iso.datetime(), to: z.iso.datetime() }),
  calls: z.object({
    /** Tool calls the monthly quota admitted (every outcome but a limit's refusal). */
    used: count,
    /** The org's plan's calls a month (its plan today, for a past month too). */
    limit: count,
    /** Tool calls refused by a rate limit or the quota. */
    refused: count,
  }),
  /** Each server of the org called in the period, most called first; calls include refused ones. */
  servers: z.array(z.object({ slug: z.string(), name: z.string(), calls: count, errors: count })),
  /** Completions tool code asked of the platform's model (ctx.llm) and their tokens. */
  llm: z.object({ calls: count, inputTokens: z.number().min(0), outputTokens: z.number().min(0) }),
});

export type OrgUsageQuery = z.infer<typeof orgUsageQuery>;
export type OrgUsageView = z.infer<typeof orgUsageView>;
