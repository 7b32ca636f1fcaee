import { type Kysely, sql } from "kysely";

// Usage of tools, one row per server, minute, version, tool, caller and outcome: what the
// runtime aggregates in memory and flushes in batches. Latencies are a fixed-bucket
// histogram (integer[]), so that any step's percentiles come from summing minutes.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("usage_minutely")
    .addColumn("server_id", "uuid", (c) => c.notNull().references("servers.id").onDelete("cascade"))
    .addColumn("org_id", "uuid", (c) => c.notNull())
    .addColumn("minute", "timestamptz", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("tool", "text", (c) => c.notNull())
    .addColumn("caller", "text", (c) => c.notNull())
    .addColumn("outcome", "text", (c) =>
      c.notNull().check(sql`outcome in ('ok', 'tool_error', 'protocol_error', 'limit', 'timeout', 'crash')`),
    )
    .addColumn("calls", "integer", (c) => c.notNull())
    // double precision, not bigint: pg and PGlite return int8 differently.
    .addColumn("duration_ms", "double precision", (c) => c.notNull())
    .addColumn("bytes_in", "double precision", (c) => c.notNull())
    .addColumn("bytes_out", "double precision", (c) => c.notNull())
    .addColumn("latency_histogram", sql`integer[]`, (c) => c.notNull())
    .addPrimaryKeyConstraint("usage_minutely_pkey", ["server_id", "minute", "version", "tool", "caller", "outcome"])
    .execute();
  await db.schema
    .createIndex("usage_minutely_org_minute_idx")
    .on("usage_minutely")
    .columns(["org_id", "minute"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("usage_minutely").execute();
}
