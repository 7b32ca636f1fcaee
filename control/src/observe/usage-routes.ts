import { serverSlug, type UsageQuery, usageQuery, usageView } from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ControlDeps } from "../deps.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadServer } from "../servers/load.ts";
import { aggregateUsage } from "./usage-aggregate.ts";
import { usageGroups } from "./usage-query.ts";
import { usageWindow } from "./usage-window.ts";

/** A server's tool calls over a window (`usage:read`): totals, every step and every tool. */
export async function readUsage(deps: ControlDeps, request: FastifyRequest, slug: string, query: UsageQuery) {
  const server = await loadServer(deps.db, request, slug, "usage:read");
  const window = usageWindow(query, deps.now?.() ?? new Date());
  return aggregateUsage(server.slug, window, await usageGroups(deps.db, server.id, window));
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
}
