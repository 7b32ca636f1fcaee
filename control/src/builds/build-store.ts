import type { BuildStatus, Bus, CompileDiagnostic, Database } from "@isola/schema";
import { type Kysely, type Selectable, sql } from "kysely";
import { type BuildRow, CLAIMABLE, RUNNING, runningStatusFor } from "./build-states.ts";

// The builds table as a queue: rows claimed with FOR UPDATE SKIP LOCKED under a lease that the
// node holding them renews; a lease that runs out (its node died) makes the row claimable again.
// Events are numbered per build in the same statement that bumps the build's counter.

/** The Bus channel a build's new events are announced on (for streams open on other nodes). */
export const buildEventsChannel = (buildId: string) => `builds.events.${buildId}`;
/** Announced when a build becomes claimable, so that idle runners look at once. */
export const BUILDS_READY_CHANNEL = "builds.ready";

export interface ClaimLimits {
  leaseMs: number;
  /** Builds of one org running at once, across the instance. */
  perOrg: number;
}

/**
 * Claims the oldest claimable build (queued, confirmed, or running under a lease that ran out)
 * whose org is under its limit of running builds; moves it to the status its next step runs in.
 */
export async function claimBuild(
  db: Kysely<Database>,
  node: string,
  limits: ClaimLimits,
  now = new Date(),
): Promise<BuildRow | undefined> {
  const leaseUntil = new Date(now.getTime() + limits.leaseMs);
  return db.transaction().execute(async (trx) => {
    const candidate = await trx
      .selectFrom("builds as b")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("b.status", "in", [...CLAIMABLE]),
          eb.and([eb("b.status", "in", [...RUNNING]), eb("b.lease_until", "<", now)]),
        ]),
      )
      .where(
        sql<boolean>`(select count(*) from builds r where r.org_id = b.org_id and r.status in (${sql.join([
          ...RUNNING,
        ])}) and r.lease_until >= ${now}) < ${limits.perOrg}`,
      )
      .orderBy("b.created_at")
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!candidate) return undefined;
    // A build its node put back on the way out (claimed_by cleared) is not an interruption.
    const resumed = RUNNING.has(candidate.status) && candidate.claimed_by !== null;
    return trx
      .updateTable("builds")
      .set({
        status: runningStatusFor(candidate.status),
        claimed_by: node,
        lease_until: leaseUntil,
        updated_at: now,
        ...(resumed ? { resumes: sql<number>`resumes + 1` } : {}),
      })
      .where("id", "=", candidate.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  });
}

/** Extends the lease; false when the build is no longer this node's (cancelled, or taken over). */
export async function renewLease(db: Kysely<Database>, id: string, node: string, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable("builds")
    .set({ lease_until: new Date(Date.now() + leaseMs) })
    .where("id", "=", id)
    .where("claimed_by", "=", node)
    .where("status", "in", [...RUNNING])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

type BuildPatch = Partial<
  Pick<Selectable<Database["builds"]>, "status" | "server_id" | "slug" | "round" | "version_id" | "finished_at">
> & { plan?: string; files?: string; answers?: string; error?: string; claimed_by?: null; lease_until?: null };

/** Updates a build this node holds; false when it no longer does (it was cancelled meanwhile). */
export async function updateHeldBuild(
  db: Kysely<Database>,
  id: string,
  node: string,
  patch: BuildPatch,
): Promise<boolean> {
  const result = await db
    .updateTable("builds")
    .set({ ...patch, updated_at: new Date() })
    .where("id", "=", id)
    .where("claimed_by", "=", node)
    .where("status", "in", [...RUNNING])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Appends an event (numbered after the build's last) and announces it; its seq. */
export async function appendEvent(
  db: Kysely<Database>,
  bus: Bus,
  buildId: string,
  type: string,
  data: Record<string, unknown>,
): Promise<number> {
  const row = await db
    .with("bumped", (w) =>
      w
        .updateTable("builds")
        .set({ event_seq: sql<number>`event_seq + 1` })
        .where("id", "=", buildId)
        .returning("event_seq"),
    )
    .insertInto("build_events")
    .columns(["build_id", "seq", "type", "data"])
    .expression((eb) =>
      eb
        .selectFrom("bumped")
        .select([
          sql.val(buildId).as("build_id"),
          "event_seq",
          sql.val(type).as("type"),
          sql.val(JSON.stringify(data)).as("data"),
        ]),
    )
    .returning(["seq", "at"])
    .executeTakeFirstOrThrow();
  const event = { seq: row.seq, type, data, at: row.at.toISOString() };
  // Streams on this node read the table too: the announcement only makes other nodes look sooner.
  await bus.publish(buildEventsChannel(buildId), JSON.stringify(event)).catch(() => {});
  return row.seq;
}

/** The errors of a build's last failed check (its `check.failed` event of `round`), if it had one. */
export async function checkErrorsOf(
  db: Kysely<Database>,
  buildId: string,
  round: number,
): Promise<CompileDiagnostic[] | undefined> {
  const rows = await db
    .selectFrom("build_events")
    .select("data")
    .where("build_id", "=", buildId)
    .where("type", "=", "check.failed")
    .orderBy("seq", "desc")
    .limit(5)
    .execute();
  const data = rows.map((row) => row.data as { round?: number; errors?: CompileDiagnostic[] });
  return data.find((event) => event.round === round)?.errors;
}

/** Events after `afterSeq`, oldest first. */
export async function readEvents(db: Kysely<Database>, buildId: string, afterSeq: number, limit = 500) {
  const rows = await db
    .selectFrom("build_events")
    .select(["seq", "type", "data", "at"])
    .where("build_id", "=", buildId)
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ seq: row.seq, type: row.type, data: row.data, at: row.at.toISOString() }));
}

/** Moves a build to `status` unless it has finished; the status it had, or undefined when it had finished. */
export async function setStatusUnlessFinished(
  db: Kysely<Database>,
  id: string,
  from: readonly BuildStatus[],
  to: BuildStatus,
  patch: Omit<BuildPatch, "status"> = {},
): Promise<BuildStatus | undefined> {
  const row = await db
    .updateTable("builds")
    .set({ ...patch, status: to, updated_at: new Date() })
    .where("id", "=", id)
    .where("status", "in", [...from])
    .returning("status")
    .executeTakeFirst();
  return row?.status;
}
