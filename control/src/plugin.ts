import cookie from "@fastify/cookie";
import { fastifySSE } from "@fastify/sse";
import type { FastifyPluginAsync } from "fastify";
import { bootstrap } from "./accounts/bootstrap.ts";
import { ensurePlans } from "./accounts/orgs.ts";
import { passwordResetRoutes } from "./accounts/password-reset-routes.ts";
import { sessionRoutes } from "./accounts/session-routes.ts";
import { tokenRoutes } from "./accounts/token-routes.ts";
import { auditRoutes } from "./audit/query-routes.ts";
import { type Actor, resolveActor } from "./auth/actor.ts";
import { modelBuildPolicy } from "./builds/build-actions.ts";
import { buildRoutes } from "./builds/build-routes.ts";
import type { ControlDeps } from "./deps.ts";
import { problemErrorHandler } from "./http/error-handler.ts";
import { sweepIdempotencyKeys } from "./http/idempotency.ts";
import { openApiDocument } from "./http/openapi.ts";
import { problem } from "./http/problems.ts";
import type { AnyRoute, RouteContext } from "./http/route.ts";
import { keyRoutes } from "./keys/key-routes.ts";
import { grantRoutes } from "./oauth/grant-routes.ts";
import { interactionRoutes } from "./oauth/interaction-routes.ts";
import { playgroundRoutes } from "./oauth/playground-routes.ts";
import { logRoutes } from "./observe/log-routes.ts";
import { usageRoutes } from "./observe/usage-routes.ts";
import { invitationRoutes } from "./orgs/invitation-routes.ts";
import { memberRoutes } from "./orgs/member-routes.ts";
import { modelKeyRoutes } from "./orgs/model-key-routes.ts";
import { orgRoutes } from "./orgs/org-routes.ts";
import { readPlansFile } from "./orgs/plans.ts";
import { secretRequestRoutes } from "./secrets/secret-request-routes.ts";
import { secretRoutes } from "./secrets/secret-routes.ts";
import { serverRoutes } from "./servers/server-routes.ts";
import { versionRoutes } from "./servers/version-routes.ts";
import { templateRoutes } from "./templates/template-routes.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The caller, resolved before every handler; null when no credentials were sent. */
    actor: Actor | null;
    /** Why credentials that were sent did not check out (raised only where an actor is needed). */
    actorError: unknown;
  }
}

/** Every route group, in the order the OpenAPI document lists them. */
const ROUTE_GROUPS = [
  sessionRoutes,
  passwordResetRoutes,
  tokenRoutes,
  grantRoutes,
  interactionRoutes,
  serverRoutes,
  versionRoutes,
  secretRoutes,
  secretRequestRoutes,
  templateRoutes,
  orgRoutes,
  modelKeyRoutes,
  memberRoutes,
  invitationRoutes,
  keyRoutes,
  playgroundRoutes,
  usageRoutes,
  logRoutes,
  auditRoutes,
];

/**
 * The control role: the REST API under /api/v1 (problem+json errors, OpenAPI at
 * /api/v1/openapi.json), and the headless bootstrap on an empty database.
 */
export function controlPlugin(deps: ControlDeps): FastifyPluginAsync {
  return async (app) => {
    // A bad ISOLA_PLANS_FILE stops the start here, with one line naming the problem.
    await ensurePlans(deps.db, await readPlansFile(deps.config.plansFile));
    if (await bootstrap(deps.db, deps.config)) {
      app.log.info({ email: deps.config.adminEmail }, "bootstrapped the instance's first owner, org and token");
    }
    const registry: AnyRoute[] = [];
    const sweeper = setInterval(() => void sweepIdempotencyKeys(deps.db).catch(() => {}), 3_600_000);
    sweeper.unref();
    app.addHook("onClose", async () => clearInterval(sweeper));

    await app.register(
      async (api) => {
        await api.register(cookie);
        // Streams (the live logs): a comment every 15 s keeps proxies from closing a quiet one.
        await api.register(fastifySSE, { heartbeatInterval: 15_000 });
        api.decorateRequest("actor", null);
        api.decorateRequest("actorError", null);
        api.setErrorHandler(problemErrorHandler);
        api.setNotFoundHandler((request, reply) =>
          problemErrorHandler(
            problem("not-found", `there is no ${request.method} ${request.url.split("?")[0]}`),
            request,
            reply,
          ),
        );
        // The API speaks JSON only (Fastify would also parse text/plain).
        api.addHook("preValidation", async (request) => {
          const type = request.headers["content-type"];
          if (request.body !== undefined && type !== undefined && !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
            throw problem("unsupported-media-type", `send application/json, not ${type.split(";")[0]}`);
          }
        });
        api.addHook("preHandler", async (request) => {
          try {
            request.actor = await resolveActor(request, deps.db);
          } catch (error) {
            request.actorError = error;
          }
        });
        const context: RouteContext = { registry, db: deps.db };
        for (const group of ROUTE_GROUPS) group(api, context, deps);
        buildRoutes(api, context, deps, modelBuildPolicy(deps));
        api.get("/openapi.json", async () => openApiDocument(registry, deps.config.publicUrl));
      },
      { prefix: "/api/v1" },
    );
  };
}

export type { AnyRoute };
