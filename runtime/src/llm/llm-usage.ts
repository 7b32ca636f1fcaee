import type { Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";

/** Adds one completion's tokens to its org's, server's and minute's row. */
export async function recordLlmUsage(
  db: Kysely<Database>,
  entry: { orgId: string; serverId: string; at: Date; inputTokens: number; outputTokens: number },
): Promise<void> {
  const minute = new Date(Math.floor(entry.at.getTime() / 60_000) * 60_000);
  await db
    .insertInto("llm_usage")
    .values({
      org_id: entry.orgId,
      server_id: entry.serverId,
      minute,
      calls: 1,
      input_tokens: entry.inputTokens,
      output_tokens: entry.outputTokens,
    })
    .onConflict((conflict) =>
      conflict.columns(["org_id", "server_id", "minute"]).doUpdateSet({
        calls: sql<number>`llm_usage.calls + excluded.calls`,
        input_tokens: sql<number>`llm_usage.input_tokens + excluded.input_tokens`,
        output_tokens: sql<number>`llm_usage.output_tokens + excluded.output_tokens`,
      }),
    )
    .execute();
}
