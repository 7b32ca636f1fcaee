import type { FastifyRequest } from "fastify";
import { sql } from "kysely";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { buildsWithNames, toBuildView } from "./build-view.ts";

/** Microseconds since the epoch: builds are paged by creation time, which Postgres keeps to the microsecond. */
const createdUs = sql<string>`(extract(epoch from b.created_at) * 1000000)::bigint`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The builds of the caller's orgs (a token: its org), newest first; optionally of one org or one server. */
export async function listBuilds(
  deps: ControlDeps,
  request: FastifyRequest,
  query: { limit: number; cursor?: string | undefined; org?: string | undefined; server?: string | undefined },
) {
  const actor = requireActor(request);
  const after = decodeCursor<{ us: string; id: string }>(
    query.cursor,
    { us: "string", id: "string" },
    (key) => /^\d{1,19}$/.test(key.us) && UUID.test(key.id),
  );
  let rows = buildsWithNames(deps.db)
    .innerJoin("memberships as m", (join) => join.onRef("m.org_id", "=", "b.org_id").on("m.user_id", "=", actor.userId))
    .select(sql<string>`${createdUs}::text`.as("created_us"))
    .orderBy(createdUs, "desc")
    .orderBy("b.id", "desc")
    .limit(query.limit + 1);
  if (actor.via === "token") rows = rows.where("b.org_id", "=", actor.orgId);
  if (query.org !== undefined) rows = rows.where("o.slug", "=", query.org);
  if (query.server !== undefined) rows = rows.where("s.slug", "=", query.server);
  if (after) {
    const us = sql<string>`${after.us}::bigint`;
    rows = rows.where((eb) =>
      eb.or([eb(createdUs, "<", us), eb.and([eb(createdUs, "=", us), eb("b.id", "<", after.id)])]),
    );
  }
  const { items, next } = pageOf(await rows.execute(), query.limit, (row) => ({ us: row.created_us, id: row.id }));
  return { items: items.map((row) => toBuildView(row, deps.config.publicUrl)), next };
}
