import { auditEntryView, auditQuery, orgParams, page } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { ControlDeps } from "../deps.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadOrg } from "../orgs/load-org.ts";

const MAX_BIGINT = 2n ** 63n - 1n;

/** The audit log of one org, newest first, filtered and paged by id. */
export function auditRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org/audit",
    operationId: "listAudit",
    summary: "An org's audit log, newest first (action may be a prefix ending in a dot: server.)",
    tag: "audit",
    access: "audit:read",
    params: orgParams,
    query: auditQuery,
    status: 200,
    response: page(auditEntryView),
    problems: ["not-found", "forbidden"],
    async handler({ params, query, request }) {
      const org = await loadOrg(db, request, params.org, "audit:read");
      // The id goes into a bigint comparison: anything but digits within its range is not a cursor we gave out.
      const after = decodeCursor<{ id: string }>(
        query.cursor,
        { id: "string" },
        (key) => /^\d{1,19}$/.test(key.id) && BigInt(key.id) <= MAX_BIGINT,
      );
      let rows = db
        .selectFrom("audit_log")
        .select([
          sql<string>`id::text`.as("id"),
          "created_at",
          "actor_type",
          "actor_id",
          "actor_label",
          "action",
          "target_type",
          "target_id",
          "source_ip",
          "detail",
        ])
        .where("org_id", "=", org.id)
        .orderBy(sql`audit_log.id`, "desc")
        .limit(query.limit + 1);
      if (after) rows = rows.where(sql`audit_log.id`, "<", sql`${after.id}::bigint`);
      if (query.action?.endsWith(".")) rows = rows.where(sql<boolean>`starts_with(action, ${query.action})`);
      else if (query.action) rows = rows.where("action", "=", query.action);
      if (query.actorType) rows = rows.where("actor_type", "=", query.actorType);
      if (query.targetType) rows = rows.where("target_type", "=", query.targetType);
      if (query.targetId) rows = rows.where("target_id", "=", query.targetId);
      if (query.from) rows = rows.where("created_at", ">=", new Date(query.from));
      if (query.to) rows = rows.where("created_at", "<", new Date(query.to));
      const { items, next } = pageOf(await rows.execute(), query.limit, (row) => ({ id: row.id }));
      return {
        items: items.map((row) => ({
          id: row.id,
          at: row.created_at.toISOString(),
          actor: { type: row.actor_type, id: row.actor_id, label: row.actor_label },
          action: row.action,
          target: { type: row.target_type, id: row.target_id },
          sourceIp: row.source_ip,
          detail: row.detail,
        })),
        next,
      };
    },
  });
}
