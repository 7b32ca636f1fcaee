import { type Kysely, sql } from "kysely";

// Builds: a brief turned into a server by a model, in steps (plan, confirm, code, check, repair,
// version, deploy). The row is the queue (claimed with FOR UPDATE SKIP LOCKED under a lease, so
// that a build whose node died is picked up again) and the build's state; build_events is its
// full history, numbered per build (the SSE ids clients resume from).

const STATUSES = [
  "queued",
  "planning",
  "waiting",
  "confirmed",
  "coding",
  "checking",
  "deploying",
  "succeeded",
  "failed",
  "cancelled",
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("builds")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("org_id", "uuid", (c) => c.notNull().references("orgs.id").onDelete("cascade"))
    .addColumn("server_id", "uuid", (c) => c.references("servers.id").onDelete("set null"))
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('new', 'iterate')`))
    .addColumn("slug", "text")
    .addColumn("prompt", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) =>
      c.notNull().check(sql`status in (${sql.join(STATUSES.map((s) => sql.lit(s)))})`),
    )
    .addColumn("auth_mode", "text", (c) => c.notNull().check(sql`auth_mode in ('public', 'api_key', 'oauth')`))
    .addColumn("auto_deploy", "boolean", (c) => c.notNull())
    .addColumn("plan", "jsonb")
    .addColumn("answers", "jsonb")
    .addColumn("round", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("max_rounds", "integer", (c) => c.notNull())
    .addColumn("files", "jsonb")
    .addColumn("version_id", "uuid", (c) => c.references("server_versions.id").onDelete("set null"))
    .addColumn("error", "jsonb")
    .addColumn("event_seq", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("claimed_by", "text")
    .addColumn("lease_until", "timestamptz")
    .addColumn("resumes", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_by", "uuid", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("finished_at", "timestamptz")
    .execute();
  await db.schema.createIndex("builds_status_idx").on("builds").columns(["status", "created_at"]).execute();
  await db.schema.createIndex("builds_org_idx").on("builds").columns(["org_id", "created_at"]).execute();
  await db.schema
    .createTable("build_events")
    .addColumn("build_id", "uuid", (c) => c.notNull().references("builds.id").onDelete("cascade"))
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("build_events_pkey", ["build_id", "seq"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("build_events").execute();
  await db.schema.dropTable("builds").execute();
}
