import { playgroundTokenView, serverSlug } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadServer } from "../servers/load.ts";
import { dashboardGrantId, mintDashboardToken } from "./dashboard-tokens.ts";
import { serverScopes } from "./resources.ts";
import { ensureSigningKey, loadKeySet } from "./signing-keys.ts";

const slugParams = z.object({ slug: serverSlug });

/** The web playground's access tokens (dashboard-tokens.ts): only for those who may change the server. */
export function playgroundRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;
  const now = () => deps.now?.() ?? new Date();

  addRoute(app, context, {
    method: "POST",
    url: "/servers/:slug/playground-token",
    operationId: "createPlaygroundToken",
    summary:
      "Mint a 5-minute access token for this server's MCP endpoint, on any auth mode, for the dashboard's playground",
    tag: "servers",
    access: "servers:update",
    params: slugParams,
    status: 201,
    response: playgroundTokenView,
    problems: ["not-found", "forbidden"],
    secretInResponse: true,
    async handler({ params, request, reply }) {
      const server = await loadServer(db, request, params.slug, "servers:update");
      const actor = requireActor(request);
      const grantId = dashboardGrantId(actor);
      if (!grantId) throw problem("forbidden", "sign in, or use a personal access token, to mint a playground token");
      const manifest = server.active_version_id
        ? ((
            await db
              .selectFrom("server_versions")
              .select("manifest")
              .where("id", "=", server.active_version_id)
              .executeTakeFirst()
          )?.manifest ?? null)
        : null;
      const scopes = serverScopes(manifest);
      // The resource URL exactly as the runtime forms it for a path-routed server (resources.ts).
      const mcpUrl = `${new URL(deps.config.publicUrl).origin}/${server.slug}/mcp`;
      const at = now();
      const keySet = await loadKeySet(db, deps.secretKey, at).catch(async () => {
        await ensureSigningKey(db, deps.secretKey, at);
        return loadKeySet(db, deps.secretKey, at);
      });
      const { token, expiresAt } = mintDashboardToken(
        keySet.signing,
        { issuer: `${deps.config.publicUrl}/oauth`, audience: mcpUrl, subject: actor.userId, scopes, grantId },
        at,
      );
      reply.header("cache-control", "no-store");
      return { accessToken: token, tokenType: "Bearer" as const, expiresAt: expiresAt.toISOString(), mcpUrl, scopes };
    },
  });
}
