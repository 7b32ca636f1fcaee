import { grantId, grantList } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { announceGrantRevoked, listGrants, revokeGrant } from "./grants.ts";

/**
 * The OAuth grants a user gave MCP clients: listed, and revoked (the client's refresh and access
 * tokens stop working at once). Grants are the user's own, whatever org a token acts in.
 */
export function grantRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const urls = { publicUrl: deps.config.publicUrl, mcpDomain: deps.config.mcpDomain };

  addRoute(app, context, {
    method: "GET",
    url: "/me/grants",
    operationId: "listGrants",
    summary: "The OAuth clients you allowed to use servers on your behalf, and what each may do",
    tag: "accounts",
    access: "signed-in",
    status: 200,
    response: grantList,
    async handler({ request }) {
      const actor = requireActor(request);
      return { items: await listGrants(deps.db, actor.userId, urls) };
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/me/grants/:id",
    operationId: "revokeGrant",
    summary: "Revoke a grant: the client's refresh and access tokens stop working at once",
    tag: "accounts",
    access: "signed-in",
    params: z.object({ id: grantId }),
    status: 204,
    response: null,
    problems: ["not-found"],
    async handler({ params, request }) {
      const actor = requireActor(request);
      await deps.db.transaction().execute(async (trx) => {
        if (!(await revokeGrant(trx, actor.userId, params.id)))
          throw problem("not-found", "you have no grant with that id");
        await recordAudit(trx, request, {
          orgId: null,
          action: "grant.revoke",
          targetType: "grant",
          targetId: params.id,
        });
      });
      await announceGrantRevoked(deps.bus, params.id);
      return undefined;
    },
  });
}
