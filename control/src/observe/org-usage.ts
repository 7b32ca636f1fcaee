import type { OrgUsageView, UsageOutcome } from "@isola/schema";
import { problem } from "../http/problems.ts";

// An org's usage over a calendar month, as the dashboard shows it against the plan's quota. Pure.

export interface UsageMonth {
  /** YYYY-MM */
  month: string;
  /** The first instant of the month (UTC), inclusive. */
  from: Date;
  /** The first instant of the next month, exclusive: when the monthly quota resets. */
  to: Date;
}

/**
 * The month `month` names, or the current one: the calendar month (UTC) the runtime's monthly
 * quota counts (runtime/src/mcp/limits.ts keys it by `now.toISOString().slice(0, 7)`).
 * 400 for a month that has not begun, or one before 1970.
 */
export function usageMonth(month: string | undefined, now: Date): UsageMonth {
  const current = now.toISOString().slice(0, 7);
  const name = month ?? current;
  const from = new Date(`${name}-01T00:00:00.000Z`);
  if (!/^\d{4}-\d{2}$/.test(name) || Number.isNaN(from.getTime()))
    throw problem("invalid-request", `month ${name} is not a month such as 2026-01`);
  // Same-length YYYY-MM strings sort as the months do.
  if (name > current) throw problem("invalid-request", `month ${name} has not begun (this month is ${current})`);
  if (from.getTime() < 0) throw problem("invalid-request", `month ${name} is before 1970-01, when usage starts`);
  const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
  return { month: name, from, to };
}

/** A server's tool calls that ended one way, summed over the month. */
export interface ServerOutcomeCalls {
  serverId: string;
  slug: string;
  name: string;
  outcome: UsageOutcome;
  calls: number;
}

export interface LlmTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * The usage API's answer: calls the quota admitted (everything but a limit's refusal, the way
 * the quota counts), refused, per server (calls and errors as GET /servers/{slug}/usage counts
 * them: errors are calls that did not end ok), most called first.
 */
export function orgUsage(
  org: string,
  period: UsageMonth,
  callsPerMonth: number,
  rows: readonly ServerOutcomeCalls[],
  llm: LlmTotals,
): OrgUsageView {
  let used = 0;
  let refused = 0;
  const servers = new Map<string, { slug: string; name: string; calls: number; errors: number }>();
  for (const row of rows) {
    if (row.outcome === "limit") refused += row.calls;
    else used += row.calls;
    let server = servers.get(row.serverId);
    if (!server) {
      server = { slug: row.slug, name: row.name, calls: 0, errors: 0 };
      servers.set(row.serverId, server);
    }
    server.calls += row.calls;
    if (row.outcome !== "ok") server.errors += row.calls;
  }
  return {
    org,
    month: period.month,
    period: { from: period.from.toISOString(), to: period.to.toISOString() },
    calls: { used, limit: callsPerMonth, refused },
    servers: [...servers.values()].sort(
      (a, b) => b.calls - a.calls || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0),
    ),
    llm,
  };
}
