import type { SSEReplyInterface } from "@fastify/sse";
import {
  buildEventList,
  buildId,
  buildView,
  confirmBuildBody,
  createBuildBody,
  iterateBuildBody,
  page,
  pageQuery,
  serverSlug,
} from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ControlDeps } from "../deps.ts";
import { openStreams } from "../http/open-streams.ts";
import { problem } from "../http/problems.ts";
import { addRoute, answeredAsStream, type RouteContext } from "../http/route.ts";
import { type BuildPolicy, buildActions } from "./build-actions.ts";
import { listBuilds } from "./build-list.ts";
import { readEvents } from "./build-store.ts";
import { endedBy, streamBuildEvents } from "./event-stream.ts";

const idParams = z.object({ id: buildId });
const eventsQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });

export type BuildRouteOptions = BuildPolicy;

/**
 * Builds: a brief becomes a plan, the user confirms it (answers, secrets, egress), and the model's
 * code is checked, repaired, stored as a version and deployed, by the runner (runner.ts) on
 * whichever node claims it. These routes queue, confirm, cancel and show (build-actions.ts, shared
 * with Isola's MCP server); they never wait for a model.
 */
export function buildRoutes(
  app: FastifyInstance,
  context: RouteContext,
  deps: ControlDeps,
  options: BuildRouteOptions,
) {
  const { db, bus } = deps;
  const builds = buildActions(deps, options);
  const streams = openStreams(app);

  addRoute(app, context, {
    method: "POST",
    url: "/builds",
    operationId: "createBuild",
    summary: "Describe a new server; a model plans it, and waits for you to confirm the plan",
    tag: "builds",
    access: "servers:create",
    body: createBuildBody,
    status: 201,
    response: buildView,
    problems: ["not-found", "forbidden", "slug-taken", "model-not-configured"],
    idempotent: true,
    handler: ({ body, request }) => builds.create(request, body),
  });

  addRoute(app, context, {
    method: "GET",
    url: "/builds",
    operationId: "listBuilds",
    summary: "Builds in your orgs (or one org, or one server's), newest first",
    tag: "builds",
    access: "signed-in",
    query: pageQuery.extend({ org: z.string().optional(), server: serverSlug.optional() }),
    status: 200,
    response: page(buildView),
    handler: ({ query, request }) => listBuilds(deps, request, query),
  });

  addRoute(app, context, {
    method: "POST",
    url: "/servers/:slug/builds",
    operationId: "iterateServer",
    summary: "Describe a change to a server; the old version serves until the new one is live",
    tag: "builds",
    access: "servers:update",
    params: z.object({ slug: serverSlug }),
    body: iterateBuildBody,
    status: 201,
    response: buildView,
    problems: ["not-found", "forbidden", "model-not-configured"],
    idempotent: true,
    handler: ({ params, body, request }) => builds.iterate(request, params.slug, body),
  });

  addRoute(app, context, {
    method: "GET",
    url: "/builds/:id",
    operationId: "getBuild",
    summary: "A build: its status, plan, rounds, version and URL",
    tag: "builds",
    access: "servers:read",
    params: idParams,
    status: 200,
    response: buildView,
    problems: ["not-found"],
    async handler({ params, request }) {
      return builds.view(await builds.load(request, params.id, "servers:read"));
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/builds/:id/confirm",
    operationId: "confirmBuild",
    summary: "Answer the plan's questions, give its secrets and approve its hosts; the code is written next",
    tag: "builds",
    access: "servers:update",
    params: idParams,
    body: confirmBuildBody,
    status: 200,
    response: buildView,
    problems: ["not-found", "forbidden", "conflict", "slug-taken", "plan-limit"],
    handler: ({ params, body, request }) => builds.confirm(request, params.id, body),
  });

  addRoute(app, context, {
    method: "POST",
    url: "/builds/:id/cancel",
    operationId: "cancelBuild",
    summary: "Stop a build; a version it already stored stays",
    tag: "builds",
    access: "servers:update",
    params: idParams,
    status: 200,
    response: buildView,
    problems: ["not-found", "forbidden", "conflict"],
    handler: ({ params, request }) => builds.cancel(request, params.id),
  });

  addRoute(app, context, {
    method: "GET",
    url: "/builds/:id/events",
    operationId: "buildEvents",
    summary: "A build's history; as Server-Sent Events it follows the build until it ends (resume with Last-Event-ID)",
    tag: "builds",
    access: "servers:read",
    params: idParams,
    query: eventsQuery,
    status: 200,
    response: buildEventList,
    problems: ["not-found"],
    sse: true,
    async handler({ params, query, request, reply }) {
      const build = await builds.load(request, params.id, "servers:read");
      const sse = (reply as { sse?: SSEReplyInterface }).sse;
      if (!sse) return { items: await readEvents(db, build.id, query.after, 1000) };
      const after = resumeFrom(request, query.after);
      if (after > build.event_seq) {
        throw problem("invalid-request", `Last-Event-ID is past this build's last event (${build.event_seq})`);
      }
      // A client that has the last event (an EventSource reconnects by itself when a stream
      // ends): nothing will follow, and a 204 is what tells an EventSource to stop.
      if (await endedBy(db, build, after)) {
        await reply.code(204).send();
        return answeredAsStream();
      }
      await streams.run(
        streamBuildEvents({ db, bus, buildId: build.id, sse, request, after, closing: streams.closing }),
      );
      return answeredAsStream();
    },
  });
}

/** Where a reconnecting client resumes: its Last-Event-ID (a seq), else `after`. */
function resumeFrom(request: FastifyRequest, after: number): number {
  const header = request.headers["last-event-id"];
  if (header === undefined || header === "") return after;
  if (typeof header === "string" && /^\d{1,9}$/.test(header)) return Number(header);
  throw problem("invalid-request", "Last-Event-ID is not an id this stream sent (an event's seq)");
}
