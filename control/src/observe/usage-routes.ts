import {
  type OrgUsageQuery,
  orgParams,
  orgUsageQuery,
  orgUsageView,
  serverSlug,
  type UsageQuery,
  usageQuery,
  usageView,
} from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ControlDeps } from "../deps.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadOrg } from "../orgs/load-org.ts";
import { loadServer } from "../servers/load.ts";
import { orgUsage, usageMonth } from "./org-usage.ts";
import { callsByServerAndOutcome, llmTotals } from "./org-usage-query.ts";
import { aggregateUsage } from "./usage-aggregate.ts";
import { usageGroups } from "./usage-query.ts";
import { usageWindow } from "./usage-window.ts";

/** A server's tool calls over a window (`usage:read`): totals, every step and every tool. */
export async function readUsage(deps: ControlDeps, request: FastifyRequest, slug: string, query: UsageQuery) {
  const server = await loadServer(deps.db, request, slug, "usage:read");
  const window = usageWindow(query, deps.now?.() ?? new Date());
  return aggregateUsage(server.slug, window, await usageGroups(deps.db, server.id, window));
}

/** An org's month (`usage:read`): calls against the plan's quota, per server, and ctx.llm's tokens. */
export async function readOrgUsage(deps: ControlDeps, request: FastifyRequest, slug: string, query: OrgUsageQuery) {
  const { db } = deps;
  const org = await loadOrg(db, request, slug, "usage:read");
  const period = usageMonth(query.month, deps.now?.() ?? new Date());
  const plan = await db
    .selectFrom("plans")
    .select("calls_per_month")
    .where("id", "=", org.plan_id ?? "default")
    .executeTakeFirstOrThrow();
  const [calls, llm] = await Promise.all([
    callsByServerAndOutcome(db, org.id, period.from, period.to),
    llmTotals(db, { orgId: org.id }, period.from, period.to),
  ]);
  return orgUsage(org.slug, period, plan.calls_per_month, calls, llm);
}

export function usageRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/usage",
    operationId: "getUsage",
    summary: "Tool calls by step and by tool: outcomes, latency percentiles, bytes (flushed every few seconds)",
    tag: "observe",
    access: "usage:read",
    params: z.object({ slug: serverSlug }),
    query: usageQuery,
    status: 200,
    response: usageView,
    problems: ["not-found", "invalid-request"],
    handler: ({ params, query, request }) => readUsage(deps, request, params.slug, query),
  });

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org/usage",
    operationId: "getOrgUsage",
    summary:
      "An org's calendar month (UTC): tool calls against the plan's monthly quota, per server, and ctx.llm tokens (flushed every few seconds)",
    tag: "observe",
    access: "usage:read",
    params: orgParams,
    query: orgUsageQuery,
    status: 200,
    response: orgUsageView,
    problems: ["not-found", "invalid-request"],
    handler: ({ params, query, request }) => readOrgUsage(deps, request, params.org, query),
  });
}
