import { orgParams, orgView, planView, updateOrgBody } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import type { ControlDeps } from "../deps.ts";
import { changedSince, etagOf, revisionFromIfMatch } from "../http/etag.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { type LoadedOrg, loadOrg } from "./load-org.ts";
import { toPlanView } from "./plans.ts";

const PLAN_COLUMNS = ["id", "name", "max_servers", "calls_per_month", "memory_mb", "rate_limit_per_minute"] as const;

/** An org, its plan and how many servers it has; plans. */
export function orgRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;

  /** The plan's limits come from the org's plan, or `default` for an org without one. */
  async function view(org: LoadedOrg) {
    const plan = await db
      .selectFrom("plans")
      .select(PLAN_COLUMNS)
      .where("id", "=", org.plan_id ?? "default")
      .executeTakeFirstOrThrow();
    const { count } = await db
      .selectFrom("servers")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .where("org_id", "=", org.id)
      .executeTakeFirstOrThrow();
    return {
      slug: org.slug,
      name: org.name,
      role: org.role,
      plan: toPlanView(plan),
      servers: Number(count),
      revision: org.revision,
    };
  }

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org",
    operationId: "getOrg",
    summary: "An org: your role in it, its plan, how many servers it has (ETag for updates)",
    tag: "orgs",
    access: "org:read",
    params: orgParams,
    status: 200,
    response: orgView,
    problems: ["not-found"],
    async handler({ params, request, reply }) {
      const org = await loadOrg(db, request, params.org, "org:read");
      reply.header("etag", etagOf(org.revision));
      return view(org);
    },
  });

  addRoute(app, context, {
    method: "PATCH",
    url: "/orgs/:org",
    operationId: "updateOrg",
    summary: "Rename an org (its slug stays; If-Match required)",
    tag: "orgs",
    access: "org:update",
    params: orgParams,
    body: updateOrgBody,
    status: 200,
    response: orgView,
    problems: ["not-found", "forbidden", "precondition-failed", "precondition-required"],
    async handler({ params, body, request, reply }) {
      const org = await loadOrg(db, request, params.org, "org:update");
      const expected = revisionFromIfMatch(request.headers["if-match"]);
      const updated = await db.transaction().execute(async (trx) => {
        // The row lock makes the name read here the one the update replaces (for the audit).
        const before = await trx
          .selectFrom("orgs")
          .select("name")
          .where("id", "=", org.id)
          .forUpdate()
          .executeTakeFirstOrThrow();
        const row = await trx
          .updateTable("orgs")
          .set({ name: body.name, revision: sql<number>`revision + 1` })
          .where("id", "=", org.id)
          .where("revision", "=", expected)
          .returning(["name", "revision"])
          .executeTakeFirst();
        if (!row) throw changedSince(`the org ${org.slug}`, expected);
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "org.update",
          targetType: "org",
          targetId: org.id,
          detail: { name: { from: before.name, to: body.name } },
        });
        return row;
      });
      reply.header("etag", etagOf(updated.revision));
      return view({ ...org, ...updated });
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/plans",
    operationId: "listPlans",
    summary: "The plans this instance offers (an operator sets them with ISOLA_PLANS_FILE)",
    tag: "orgs",
    access: "signed-in",
    status: 200,
    response: z.object({ items: z.array(planView) }),
    async handler() {
      const rows = await db.selectFrom("plans").select(PLAN_COLUMNS).orderBy("max_servers").orderBy("id").execute();
      return { items: rows.map(toPlanView) };
    },
  });
}
