import { createServerBody, page, pageQuery, ServerLogs, serverSlug, serverView, updateServerBody } from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { actorLabel } from "../auth/actor.ts";
import { authorize, requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { etagOf, revisionFromIfMatch } from "../http/etag.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { announce, loadServer, type ServerWithOrg } from "./load.ts";
import { insertServer } from "./server-writes.ts";

const slugParams = z.object({ slug: serverSlug });

export function toServerView(server: ServerWithOrg, activeVersion: number | null, publicUrl: string) {
  return {
    id: server.id,
    slug: server.slug,
    org: server.org_slug,
    name: server.name,
    description: server.description,
    authMode: server.auth_mode,
    accessPolicy: server.access_policy,
    egressApproved: server.egress_approved,
    status: server.status,
    activeVersion,
    allowedOrigins: server.allowed_origins,
    legacySse: server.legacy_sse,
    customDomain: server.custom_domain,
    mcpUrl: `${publicUrl}/${server.slug}/mcp`,
    revision: server.revision,
    createdAt: server.created_at.toISOString(),
    updatedAt: server.updated_at.toISOString(),
  };
}

/** The org a create acts in: the one named, the token's, or the caller's only org. */
export async function targetOrg(
  deps: ControlDeps,
  request: FastifyRequest,
  slug: string | undefined,
): Promise<{ id: string; plan_id: string | null }> {
  const actor = requireActor(request);
  let query = deps.db
    .selectFrom("orgs as o")
    .innerJoin("memberships as m", "m.org_id", "o.id")
    .select(["o.id", "o.slug", "o.plan_id"])
    .where("m.user_id", "=", actor.userId);
  if (slug !== undefined) query = query.where("o.slug", "=", slug);
  if (actor.via === "token") query = query.where("o.id", "=", actor.orgId);
  const orgs = await query.execute();
  if (orgs.length === 0) throw problem("not-found", slug ? `no org called ${slug}` : "you belong to no org");
  if (orgs.length > 1)
    throw problem(
      "invalid-request",
      `you belong to several orgs; say which with "org": ${orgs.map((o) => o.slug).join(", ")}`,
    );
  return orgs[0] as { id: string; plan_id: string | null };
}

export async function activeVersionNumber(
  deps: ControlDeps,
  server: { active_version_id: string | null },
): Promise<number | null> {
  if (!server.active_version_id) return null;
  const row = await deps.db
    .selectFrom("server_versions")
    .select("number")
    .where("id", "=", server.active_version_id)
    .executeTakeFirst();
  return row?.number ?? null;
}

/** One page of the servers in the caller's orgs (a token's org only), by slug; `org` narrows to one. */
export async function listServers(
  deps: ControlDeps,
  request: FastifyRequest,
  query: { limit: number; cursor?: string | undefined; org?: string | undefined },
) {
  const actor = requireActor(request);
  const after = decodeCursor<{ slug: string }>(query.cursor, { slug: "string" });
  let rows = deps.db
    .selectFrom("servers as s")
    .innerJoin("orgs as o", "o.id", "s.org_id")
    .innerJoin("memberships as m", (join) => join.onRef("m.org_id", "=", "s.org_id").on("m.user_id", "=", actor.userId))
    .leftJoin("server_versions as v", "v.id", "s.active_version_id")
    .selectAll("s")
    .select(["o.slug as org_slug", "v.number as active_number"])
    .orderBy("s.slug")
    .limit(query.limit + 1);
  if (actor.via === "token") rows = rows.where("s.org_id", "=", actor.orgId);
  if (query.org !== undefined) rows = rows.where("o.slug", "=", query.org);
  if (after) rows = rows.where("s.slug", ">", after.slug);
  const found = await rows.execute();
  const { items, next } = pageOf(found, query.limit, (row) => ({ slug: row.slug }));
  return { items: items.map((row) => toServerView(row, row.active_number, deps.config.publicUrl)), next };
}

/**
 * Pauses a server (MCP calls get 503) or resumes it (`servers:deploy`); 409 for a draft's pause or
 * a resume with nothing deployed. Shared by the REST route and Isola's MCP server.
 */
export async function pauseOrResume(
  deps: ControlDeps,
  request: FastifyRequest,
  slug: string,
  action: "pause" | "resume",
) {
  const { db, bus, config } = deps;
  const status = action === "pause" ? "paused" : "live";
  const server = await loadServer(db, request, slug, "servers:deploy");
  if (action === "resume" && !server.active_version_id) throw problem("conflict", "deploy a version before resuming");
  if (action === "pause" && server.status === "draft")
    throw problem("conflict", "a draft server serves nothing to pause");
  const updated = await db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable("servers")
      .set({ status, revision: sql<number>`revision + 1`, updated_at: sql<Date>`now()` })
      .where("id", "=", server.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(trx, request, {
      orgId: server.org_id,
      action: `server.${action}`,
      targetType: "server",
      targetId: server.id,
    });
    return row;
  });
  await announce(
    bus,
    {
      kind: action === "pause" ? "paused" : "resumed",
      serverId: server.id,
      slug: server.slug,
      activeVersionId: updated.active_version_id,
    },
    request,
  );
  const by = actorLabel(requireActor(request));
  await new ServerLogs(bus).write(server.id, {
    level: action === "pause" ? "warning" : "info",
    source: "runtime",
    message: action === "pause" ? `paused by ${by}: MCP calls get 503 until resumed` : `resumed by ${by}`,
  });
  return toServerView(
    { ...updated, org_slug: server.org_slug },
    await activeVersionNumber(deps, updated),
    config.publicUrl,
  );
}

/** Deletes a server with its versions, secrets and keys (`servers:delete`); the server as it was. */
export async function deleteServer(deps: ControlDeps, request: FastifyRequest, slug: string): Promise<ServerWithOrg> {
  const server = await loadServer(deps.db, request, slug, "servers:delete");
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom("servers").where("id", "=", server.id).execute();
    await recordAudit(trx, request, {
      orgId: server.org_id,
      action: "server.delete",
      targetType: "server",
      targetId: server.id,
      detail: { slug: server.slug },
    });
  });
  await announce(deps.bus, { kind: "deleted", serverId: server.id, slug: server.slug, activeVersionId: null }, request);
  return server;
}

export function serverRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db, bus, config } = deps;

  addRoute(app, context, {
    method: "POST",
    url: "/servers",
    operationId: "createServer",
    summary: "Create a server (a draft until a version is deployed)",
    tag: "servers",
    access: "servers:create",
    body: createServerBody,
    status: 201,
    response: serverView,
    problems: ["slug-taken", "plan-limit", "forbidden", "not-found"],
    idempotent: true,
    async handler({ body, request }) {
      const org = await targetOrg(deps, request, body.org);
      await authorize(db, request, org.id, "servers:create");
      const created = await insertServer(
        db,
        org,
        {
          slug: body.slug,
          name: body.name,
          ...(body.description === undefined ? {} : { description: body.description }),
          authMode: body.authMode,
          ...(body.accessPolicy ? { accessPolicy: body.accessPolicy } : {}),
          ...(body.egressApproved ? { egressApproved: body.egressApproved } : {}),
          createdBy: requireActor(request).userId,
        },
        request,
      );
      const orgSlug = await db.selectFrom("orgs").select("slug").where("id", "=", org.id).executeTakeFirstOrThrow();
      await announce(
        bus,
        { kind: "created", serverId: created.id, slug: created.slug, activeVersionId: null },
        request,
      );
      return toServerView({ ...created, org_slug: orgSlug.slug }, null, config.publicUrl);
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/servers",
    operationId: "listServers",
    summary: "Servers in your orgs (or one org), by slug",
    tag: "servers",
    access: "signed-in",
    query: pageQuery.extend({ org: z.string().optional() }),
    status: 200,
    response: page(serverView),
    handler: ({ query, request }) => listServers(deps, request, query),
  });

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug",
    operationId: "getServer",
    summary: "A server (ETag for updates)",
    tag: "servers",
    access: "servers:read",
    params: slugParams,
    status: 200,
    response: serverView,
    problems: ["not-found"],
    async handler({ params, request, reply }) {
      const server = await loadServer(db, request, params.slug, "servers:read");
      reply.header("etag", etagOf(server.revision));
      return toServerView(server, await activeVersionNumber(deps, server), config.publicUrl);
    },
  });

  addRoute(app, context, {
    method: "PATCH",
    url: "/servers/:slug",
    operationId: "updateServer",
    summary: "Change a server's settings (If-Match required)",
    tag: "servers",
    access: "servers:update",
    params: slugParams,
    body: updateServerBody,
    status: 200,
    response: serverView,
    problems: ["not-found", "forbidden", "precondition-failed", "precondition-required", "conflict"],
    async handler({ params, body, request, reply }) {
      const server = await loadServer(db, request, params.slug, "servers:update");
      const expected = revisionFromIfMatch(request.headers["if-match"]);
      const updated = await db
        .transaction()
        .execute(async (trx) => {
          const row = await trx
            .updateTable("servers")
            .set({
              ...(body.name === undefined ? {} : { name: body.name }),
              ...(body.description === undefined ? {} : { description: body.description }),
              ...(body.authMode === undefined ? {} : { auth_mode: body.authMode }),
              ...(body.accessPolicy === undefined ? {} : { access_policy: JSON.stringify(body.accessPolicy) }),
              ...(body.egressApproved === undefined ? {} : { egress_approved: JSON.stringify(body.egressApproved) }),
              ...(body.allowedOrigins === undefined ? {} : { allowed_origins: JSON.stringify(body.allowedOrigins) }),
              ...(body.legacySse === undefined ? {} : { legacy_sse: body.legacySse }),
              ...(body.customDomain === undefined ? {} : { custom_domain: body.customDomain }),
              revision: sql<number>`revision + 1`,
              updated_at: sql<Date>`now()`,
            })
            .where("id", "=", server.id)
            .where("revision", "=", expected)
            .returningAll()
            .executeTakeFirst();
          if (!row)
            throw problem("precondition-failed", `the server changed since revision ${expected}; read it again`);
          await recordAudit(trx, request, {
            orgId: server.org_id,
            action: "server.update",
            targetType: "server",
            targetId: server.id,
            detail: { fields: Object.keys(body) },
          });
          return row;
        })
        .catch((error: unknown) => {
          if ((error as { code?: string }).code === "23505") {
            throw problem("conflict", `the custom domain ${body.customDomain} is used by another server`);
          }
          throw error;
        });
      await announce(
        bus,
        { kind: "updated", serverId: server.id, slug: server.slug, activeVersionId: updated.active_version_id },
        request,
      );
      reply.header("etag", etagOf(updated.revision));
      return toServerView(
        { ...updated, org_slug: server.org_slug },
        await activeVersionNumber(deps, updated),
        config.publicUrl,
      );
    },
  });

  for (const action of ["pause", "resume"] as const) {
    addRoute(app, context, {
      method: "POST",
      url: `/servers/:slug/${action}`,
      operationId: `${action}Server`,
      summary: action === "pause" ? "Stop serving MCP calls (503) until resumed" : "Serve MCP calls again",
      tag: "servers",
      access: "servers:deploy",
      params: slugParams,
      status: 200,
      response: serverView,
      problems: ["not-found", "forbidden", "conflict"],
      handler: ({ params, request }) => pauseOrResume(deps, request, params.slug, action),
    });
  }

  addRoute(app, context, {
    method: "DELETE",
    url: "/servers/:slug",
    operationId: "deleteServer",
    summary: "Delete a server, its versions, secrets and keys (the slug becomes free)",
    tag: "servers",
    access: "servers:delete",
    params: slugParams,
    status: 204,
    response: null,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      await deleteServer(deps, request, params.slug);
      return undefined;
    },
  });
}
