import { modelKeyView, orgParams, setSecretBody } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { recordAudit } from "../audit/record.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { createOrgSecrets, ORG_MODEL_KEY } from "../secrets/org-secrets.ts";
import { loadOrg } from "./load-org.ts";

/**
 * An org's own key for the Anthropic Messages API, write-only: its builds and its servers' ctx.llm
 * use it before the instance's ANTHROPIC_API_KEY. Owners set and remove it; anyone in the org may
 * see whether one is set.
 */
export function modelKeyRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;
  const secrets = createOrgSecrets({ db, key: deps.secretKey });

  addRoute(app, context, {
    method: "PUT",
    url: "/orgs/:org/model-key",
    operationId: "setModelKey",
    summary: "Set the org's own Anthropic API key (used by its builds and ctx.llm); it is never returned",
    tag: "orgs",
    access: "org:update",
    params: orgParams,
    body: setSecretBody,
    status: 200,
    response: modelKeyView,
    problems: ["not-found", "forbidden", "payload-too-large"],
    async handler({ params, body, request }) {
      const org = await loadOrg(db, request, params.org, "org:update");
      const saved = await db.transaction().execute(async (trx) => {
        const row = await secrets.set(org.id, ORG_MODEL_KEY, body.value, trx);
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "org.model-key.set",
          targetType: "org",
          targetId: org.id,
        });
        return row;
      });
      return { set: true, updatedAt: saved.updatedAt.toISOString() };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org/model-key",
    operationId: "getModelKey",
    summary: "Whether the org has its own model key, and since when (never the key)",
    tag: "orgs",
    access: "org:read",
    params: orgParams,
    status: 200,
    response: modelKeyView,
    problems: ["not-found"],
    async handler({ params, request }) {
      const org = await loadOrg(db, request, params.org, "org:read");
      const updatedAt = await secrets.updatedAt(org.id, ORG_MODEL_KEY);
      return { set: updatedAt !== undefined, updatedAt: updatedAt?.toISOString() ?? null };
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/orgs/:org/model-key",
    operationId: "deleteModelKey",
    summary: "Remove the org's own model key: its builds use the instance's key again, if any",
    tag: "orgs",
    access: "org:update",
    params: orgParams,
    status: 204,
    response: null,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const org = await loadOrg(db, request, params.org, "org:update");
      await db.transaction().execute(async (trx) => {
        if (!(await secrets.delete(org.id, ORG_MODEL_KEY, trx))) {
          throw problem("not-found", `the org ${org.slug} has no model key`);
        }
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "org.model-key.delete",
          targetType: "org",
          targetId: org.id,
        });
      });
      return undefined;
    },
  });
}
