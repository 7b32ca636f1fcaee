import {
  createVersionBody,
  deployBody,
  deploymentView,
  type Manifest,
  page,
  pageQuery,
  serverSlug,
  serverView,
  versionDetail,
  versionView,
} from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { actorLabel } from "../auth/actor.ts";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadServer } from "./load.ts";
import { activeVersionNumber, toServerView } from "./server-routes.ts";
import { activateVersion, insertVersion } from "./server-writes.ts";

const slugParams = z.object({ slug: serverSlug });
/** Version numbers are integer columns: anything larger is no version, and would not fit the query. */
const MAX_VERSION = 2_147_483_647;
const versionParams = slugParams.extend({ number: z.coerce.number().int().min(1).max(MAX_VERSION) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type VersionRow = {
  number: number;
  hash: string;
  compiler_version: string;
  manifest: Manifest;
  created_at: Date;
  created_by_email: string | null;
  id: string;
};

export function toVersionView(row: VersionRow, activeId: string | null) {
  return {
    number: row.number,
    hash: row.hash,
    compilerVersion: row.compiler_version,
    manifest: row.manifest,
    active: row.id === activeId,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by_email,
  };
}

/**
 * Makes version `number` of the server live (`servers:deploy`): a deploy of any version, or a
 * rollback to one before the live one. Answers the server as it is then.
 */
export async function activateNumber(
  deps: ControlDeps,
  request: FastifyRequest,
  slug: string,
  number: number,
  kind: "deploy" | "rollback",
) {
  const server = await loadServer(deps.db, request, slug, "servers:deploy");
  if (kind === "rollback") {
    const active = await activeVersionNumber(deps, server);
    if (active !== null && number >= active) {
      throw problem("conflict", `roll back to a version before the live one (${active}); use deploy for newer ones`);
    }
  }
  const version = await deps.db
    .selectFrom("server_versions")
    .select(["id", "number", "manifest"])
    .where("server_id", "=", server.id)
    .where("number", "=", number)
    .executeTakeFirst();
  if (!version) throw problem("not-found", `${server.slug} has no version ${number}`);
  const actor = actorLabel(requireActor(request));
  const updated = await activateVersion(deps, { server, version, kind, actor }, request, request.log);
  return toServerView(
    { ...updated, org_slug: server.org_slug },
    await activeVersionNumber(deps, updated),
    deps.config.publicUrl,
  );
}

export function versionRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;

  const versions = () =>
    db
      .selectFrom("server_versions as v")
      .leftJoin("users as u", "u.id", "v.created_by")
      .select([
        "v.id",
        "v.number",
        "v.hash",
        "v.compiler_version",
        "v.manifest",
        "v.created_at",
        "u.email as created_by_email",
      ]);

  addRoute(app, context, {
    method: "POST",
    url: "/servers/:slug/versions",
    operationId: "createVersion",
    summary: "Compile and check source; store it as the next immutable version (not deployed)",
    tag: "versions",
    access: "servers:update",
    params: slugParams,
    body: createVersionBody,
    status: 201,
    response: versionView,
    problems: ["not-found", "forbidden", "compile-failed"],
    idempotent: true,
    async handler({ params, body, request }) {
      const server = await loadServer(db, request, params.slug, "servers:update");
      const files = "source" in body ? { "index.ts": body.source } : "files" in body ? body.files : {};
      // Outside any transaction: compiling runs the code in a sandbox and takes a while.
      const result = await deps.compile(files, body.declarative);
      if (!result.ok) {
        throw problem("compile-failed", `${result.errors.length} problem(s) in the code; nothing was stored`, {
          errors: result.errors,
        });
      }
      const row = await insertVersion(
        db,
        server,
        files,
        result.artifact,
        requireActor(request).userId,
        request,
        body.declarative,
      );
      return toVersionView({ ...row, created_by_email: requireActor(request).email }, server.active_version_id);
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/versions",
    operationId: "listVersions",
    summary: "A server's versions, newest first",
    tag: "versions",
    access: "servers:read",
    params: slugParams,
    query: pageQuery,
    status: 200,
    response: page(versionView),
    problems: ["not-found"],
    async handler({ params, query, request }) {
      const server = await loadServer(db, request, params.slug, "servers:read");
      const after = decodeCursor<{ number: number }>(
        query.cursor,
        { number: "number" },
        (key) => Number.isInteger(key.number) && key.number >= 1 && key.number <= MAX_VERSION,
      );
      let rows = versions()
        .where("v.server_id", "=", server.id)
        .orderBy("v.number", "desc")
        .limit(query.limit + 1);
      if (after) rows = rows.where("v.number", "<", after.number);
      const { items, next } = pageOf(await rows.execute(), query.limit, (row) => ({ number: row.number }));
      return { items: items.map((row) => toVersionView(row, server.active_version_id)), next };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/versions/:number",
    operationId: "getVersion",
    summary: "One version with its source",
    tag: "versions",
    access: "servers:read",
    params: versionParams,
    status: 200,
    response: versionDetail,
    problems: ["not-found"],
    async handler({ params, request }) {
      const server = await loadServer(db, request, params.slug, "servers:read");
      const row = await versions()
        .select(["v.source", "v.declarative"])
        .where("v.server_id", "=", server.id)
        .where("v.number", "=", params.number)
        .executeTakeFirst();
      if (!row) throw problem("not-found", `${server.slug} has no version ${params.number}`);
      return { ...toVersionView(row, server.active_version_id), source: row.source, declarative: row.declarative };
    },
  });

  for (const kind of ["deploy", "rollback"] as const) {
    addRoute(app, context, {
      method: "POST",
      url: `/servers/:slug/${kind}`,
      operationId: kind === "deploy" ? "deployVersion" : "rollBack",
      summary: kind === "deploy" ? "Make a version live" : "Make an earlier version live again",
      tag: "versions",
      access: "servers:deploy",
      params: slugParams,
      body: deployBody,
      status: 200,
      response: serverView,
      // Only a rollback can conflict (with the live version).
      problems: [
        "not-found",
        "forbidden",
        "egress-not-approved",
        ...(kind === "rollback" ? (["conflict"] as const) : []),
      ],
      handler: ({ params, body, request }) => activateNumber(deps, request, params.slug, body.version, kind),
    });
  }

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/deployments",
    operationId: "listDeployments",
    summary: "Where the active version pointer has been, newest first",
    tag: "versions",
    access: "servers:read",
    params: slugParams,
    query: pageQuery,
    status: 200,
    response: page(deploymentView),
    problems: ["not-found"],
    async handler({ params, query, request }) {
      const server = await loadServer(db, request, params.slug, "servers:read");
      const after = decodeCursor<{ at: string; id: string }>(
        query.cursor,
        { at: "string", id: "string" },
        (key) => !Number.isNaN(Date.parse(key.at)) && UUID.test(key.id),
      );
      let rows = db
        .selectFrom("deployments as d")
        .innerJoin("server_versions as v", "v.id", "d.version_id")
        .leftJoin("server_versions as p", "p.id", "d.previous_version_id")
        .select(["d.id", "d.kind", "d.actor", "d.created_at", "v.number as version", "p.number as previous"])
        .where("d.server_id", "=", server.id)
        .orderBy("d.created_at", "desc")
        .orderBy("d.id", "desc")
        .limit(query.limit + 1);
      if (after) {
        rows = rows.where((eb) =>
          eb.or([
            eb("d.created_at", "<", new Date(after.at)),
            eb.and([eb("d.created_at", "=", new Date(after.at)), eb("d.id", "<", after.id)]),
          ]),
        );
      }
      const { items, next } = pageOf(await rows.execute(), query.limit, (row) => ({
        at: row.created_at.toISOString(),
        id: row.id,
      }));
      return {
        items: items.map((row) => ({
          version: row.version,
          previousVersion: row.previous ?? null,
          kind: row.kind,
          actor: row.actor,
          createdAt: row.created_at.toISOString(),
        })),
        next,
      };
    },
  });
}
