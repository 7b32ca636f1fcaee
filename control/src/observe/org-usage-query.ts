import type { Database, UsageOutcome } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import type { LlmTotals, ServerOutcomeCalls } from "./org-usage.ts";

// Sums are double precision: pg and PGlite return bigint differently.

/** An org's tool calls in [from, to), summed by server and outcome (versions, tools, callers and minutes together). */
export async function callsByServerAndOutcome(
  db: Kysely<Database>,
  orgId: string,
  from: Date,
  to: Date,
): Promise<ServerOutcomeCalls[]> {
  const rows = await db
    .selectFrom("usage_minutely as u")
    .innerJoin("servers as s", "s.id", "u.server_id")
    .select(["u.server_id", "s.slug", "s.name", "u.outcome", sql<number>`sum(u.calls)::float8`.as("calls")])
    .where("u.org_id", "=", orgId)
    .where("u.minute", ">=", from)
    .where("u.minute", "<", to)
    .groupBy(["u.server_id", "s.slug", "s.name", "u.outcome"])
    .execute();
  return rows.map((row) => ({
    serverId: row.server_id,
    slug: row.slug,
    name: row.name,
    outcome: row.outcome as UsageOutcome,
    calls: Number(row.calls),
  }));
}

/** Completions and tokens of ctx.llm in [from, to), of an org, or of one of its servers. */
export async function llmTotals(
  db: Kysely<Database>,
  scope: { orgId: string; serverId?: string },
  from: Date,
  to: Date,
): Promise<LlmTotals> {
  let query = db
    .selectFrom("llm_usage")
    .select([
      sql<number>`coalesce(sum(calls), 0)::float8`.as("calls"),
      sql<number>`coalesce(sum(input_tokens), 0)::float8`.as("input_tokens"),
      sql<number>`coalesce(sum(output_tokens), 0)::float8`.as("output_tokens"),
    ])
    .where("org_id", "=", scope.orgId)
    .where("minute", ">=", from)
    .where("minute", "<", to);
  if (scope.serverId) query = query.where("server_id", "=", scope.serverId);
  const row = await query.executeTakeFirstOrThrow();
  return { calls: Number(row.calls), inputTokens: Number(row.input_tokens), outputTokens: Number(row.output_tokens) };
}
