import type { SSEReplyInterface } from "@fastify/sse";
import {
  type AuthMode,
  type BuildPlan,
  buildEventList,
  buildId,
  buildView,
  confirmBuildBody,
  createBuildBody,
  iterateBuildBody,
  serverSlug,
} from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { authorize, requireActor } from "../auth/authorize.ts";
import type { Permission } from "../auth/rbac.ts";
import type { ControlDeps } from "../deps.ts";
import { openStreams } from "../http/open-streams.ts";
import { problem } from "../http/problems.ts";
import { addRoute, answeredAsStream, type RouteContext } from "../http/route.ts";
import { createSecretVault } from "../secrets/vault.ts";
import { loadServer } from "../servers/load.ts";
import { targetOrg } from "../servers/server-routes.ts";
import { insertServer } from "../servers/server-writes.ts";
import { CANCELLABLE, slugFromName } from "./build-states.ts";
import { appendEvent, BUILDS_READY_CHANNEL, readEvents, setStatusUnlessFinished } from "./build-store.ts";
import { type BuildWithNames, loadBuildWithNames, toBuildView } from "./build-view.ts";
import { streamBuildEvents } from "./event-stream.ts";

const idParams = z.object({ id: buildId });
const eventsQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });

/** Repair rounds a build gets after its first code, unless the instance says otherwise. */
export const DEFAULT_MAX_ROUNDS = 3;

export interface BuildRouteOptions {
  /** Whether a model can answer for this org (an org key or the instance's); builds are refused without one. */
  hasModel(orgId: string): Promise<boolean>;
  maxRounds?: number;
}

const NO_MODEL =
  "no language model is configured: set ANTHROPIC_API_KEY for the instance (or the org's key); templates, declarative tools and code deploys work without one";

/**
 * Builds: a brief becomes a plan, the user confirms it (answers, secrets, egress), and the model's
 * code is checked, repaired, stored as a version and deployed, by the runner (runner.ts) on
 * whichever node claims it. These routes queue, confirm, cancel and show; they never wait for a model.
 */
export function buildRoutes(
  app: FastifyInstance,
  context: RouteContext,
  deps: ControlDeps,
  options: BuildRouteOptions,
) {
  const { db, bus, config } = deps;
  const vault = createSecretVault({ db, key: deps.secretKey });
  const maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
  const view = (build: BuildWithNames) => toBuildView(build, config.publicUrl);
  const wake = () => bus.publish(BUILDS_READY_CHANNEL, "").catch(() => {});
  const streams = openStreams(app);

  /** The build if the caller may `permission` its org; 404 otherwise. */
  async function loadBuild(request: FastifyRequest, id: string, permission: Permission): Promise<BuildWithNames> {
    const notFound = "no build with that id";
    const build = await loadBuildWithNames(db, id);
    if (!build) throw problem("not-found", notFound);
    await authorize(db, request, build.org_id, permission, notFound);
    return build;
  }

  async function queue(
    request: FastifyRequest,
    values: {
      orgId: string;
      serverId: string | null;
      kind: "new" | "iterate";
      slug: string | null;
      prompt: string;
      authMode: AuthMode;
      autoDeploy: boolean;
    },
  ) {
    if (!(await options.hasModel(values.orgId))) throw problem("model-not-configured", NO_MODEL);
    const row = await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("builds")
        .values({
          org_id: values.orgId,
          server_id: values.serverId,
          kind: values.kind,
          slug: values.slug,
          prompt: values.prompt,
          status: "queued",
          auth_mode: values.authMode,
          auto_deploy: values.autoDeploy,
          max_rounds: maxRounds,
          created_by: requireActor(request).userId,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      await recordAudit(trx, request, {
        orgId: values.orgId,
        action: "build.create",
        targetType: "build",
        targetId: inserted.id,
        detail: { kind: values.kind, server: values.slug },
      });
      return inserted;
    });
    await appendEvent(db, bus, row.id, "queued", { kind: values.kind });
    await wake();
    return view((await loadBuildWithNames(db, row.id)) as BuildWithNames);
  }

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
    async handler({ body, request }) {
      const org = await targetOrg(deps, request, body.org);
      await authorize(db, request, org.id, "servers:create");
      if (body.slug) {
        const taken = await db.selectFrom("servers").select("id").where("slug", "=", body.slug).executeTakeFirst();
        if (taken) throw problem("slug-taken", `a server called ${body.slug} exists; choose another slug`);
      }
      return queue(request, {
        orgId: org.id,
        serverId: null,
        kind: "new",
        slug: body.slug ?? null,
        prompt: body.prompt,
        authMode: body.authMode,
        autoDeploy: body.autoDeploy,
      });
    },
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
    async handler({ params, body, request }) {
      const server = await loadServer(db, request, params.slug, "servers:update");
      return queue(request, {
        orgId: server.org_id,
        serverId: server.id,
        kind: "iterate",
        slug: server.slug,
        prompt: body.prompt,
        authMode: server.auth_mode,
        autoDeploy: body.autoDeploy,
      });
    },
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
      return view(await loadBuild(request, params.id, "servers:read"));
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
    async handler({ params, body, request }) {
      const build = await loadBuild(request, params.id, "servers:update");
      if (build.status !== "waiting") {
        throw problem("conflict", `the build is ${build.status}, not waiting for a confirmation`);
      }
      const plan = build.plan as BuildPlan;
      const unplanned = body.approvedEgress.filter((host) => !plan.egress.includes(host));
      if (unplanned.length > 0) {
        throw problem("invalid-request", `approve only hosts the plan names; not in it: ${unplanned.join(", ")}`);
      }
      const unknownSecrets = Object.keys(body.secrets).filter((name) => !plan.secrets.some((s) => s.name === name));
      if (unknownSecrets.length > 0) {
        throw problem("invalid-request", `the plan asks for no secret called ${unknownSecrets.join(", ")}`);
      }
      const existing = build.server_id
        ? (await db.selectFrom("secrets").select("name").where("server_id", "=", build.server_id).execute()).map(
            (row) => row.name,
          )
        : [];
      const missing = plan.secrets
        .filter((secret) => secret.required && !(secret.name in body.secrets) && !existing.includes(secret.name))
        .map((secret) => secret.name);
      if (missing.length > 0) throw problem("invalid-request", `the plan needs these secrets: ${missing.join(", ")}`);

      const org = await db
        .selectFrom("orgs")
        .select(["id", "plan_id"])
        .where("id", "=", build.org_id)
        .executeTakeFirstOrThrow();
      const server =
        build.server_id !== null
          ? { id: build.server_id }
          : await insertServer(
              db,
              org,
              {
                slug: build.slug ?? (await freeSlug(slugFromName(plan.server.name))),
                name: plan.server.name,
                description: plan.server.description,
                authMode: build.auth_mode,
                egressApproved: body.approvedEgress,
                createdBy: requireActor(request).userId,
              },
              request,
            );
      await db.transaction().execute(async (trx) => {
        for (const [name, value] of Object.entries(body.secrets)) await vault.set(server.id, name, value, trx);
        if (build.server_id !== null && body.approvedEgress.length > 0) {
          const current = await trx
            .selectFrom("servers")
            .select("egress_approved")
            .where("id", "=", server.id)
            .forUpdate()
            .executeTakeFirstOrThrow();
          const approved = [...new Set([...current.egress_approved, ...body.approvedEgress])];
          await trx
            .updateTable("servers")
            .set({ egress_approved: JSON.stringify(approved) })
            .where("id", "=", server.id)
            .execute();
        }
        const moved = await trx
          .updateTable("builds")
          .set({
            status: "confirmed",
            server_id: server.id,
            answers: JSON.stringify(body.answers),
            updated_at: new Date(),
          })
          .where("id", "=", build.id)
          .where("status", "=", "waiting")
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw problem("conflict", "the build changed meanwhile; read it again");
        await recordAudit(trx, request, {
          orgId: build.org_id,
          action: "build.confirm",
          targetType: "build",
          targetId: build.id,
          // Names only: secret values never reach the audit log.
          detail: { secrets: Object.keys(body.secrets), approvedEgress: body.approvedEgress },
        });
      });
      await appendEvent(db, bus, build.id, "confirmed", {
        answers: Object.keys(body.answers),
        secrets: Object.keys(body.secrets),
        approvedEgress: body.approvedEgress,
      });
      await wake();
      return view((await loadBuildWithNames(db, build.id)) as BuildWithNames);
    },
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
    async handler({ params, request }) {
      const build = await loadBuild(request, params.id, "servers:update");
      const was = await setStatusUnlessFinished(db, build.id, CANCELLABLE, "cancelled", {
        finished_at: new Date(),
        claimed_by: null,
        lease_until: null,
      });
      if (!was) throw problem("conflict", `the build has already ${build.status}`);
      await recordAudit(db, request, {
        orgId: build.org_id,
        action: "build.cancel",
        targetType: "build",
        targetId: build.id,
      });
      await appendEvent(db, bus, build.id, "cancelled", {});
      return view((await loadBuildWithNames(db, build.id)) as BuildWithNames);
    },
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
      const build = await loadBuild(request, params.id, "servers:read");
      const sse = (reply as { sse?: SSEReplyInterface }).sse;
      if (!sse) return { items: await readEvents(db, build.id, query.after, 1000) };
      const after = resumeFrom(request, query.after);
      await streams.run(
        streamBuildEvents({ db, bus, buildId: build.id, sse, request, after, closing: streams.closing }),
      );
      return answeredAsStream();
    },
  });

  /** `base`, or base-2, base-3... the first slug no server has. */
  async function freeSlug(base: string): Promise<string> {
    for (let n = 1; n < 100; n++) {
      const slug = n === 1 ? base : `${base.slice(0, 36)}-${n}`;
      const taken = await db.selectFrom("servers").select("id").where("slug", "=", slug).executeTakeFirst();
      if (!taken) return slug;
    }
    throw problem("slug-taken", `every slug like ${base} is taken; name the server's slug`);
  }
}

/** Where a reconnecting client resumes: its Last-Event-ID (a seq), else `after`. */
function resumeFrom(request: FastifyRequest, after: number): number {
  const header = request.headers["last-event-id"];
  if (header === undefined || header === "") return after;
  if (typeof header === "string" && /^\d{1,9}$/.test(header)) return Number(header);
  throw problem("invalid-request", "Last-Event-ID is not an id this stream sent (an event's seq)");
}
