import type { TemplateDeployBody, TemplateManifest, templateDeployView } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { actorLabel } from "../auth/actor.ts";
import { authorize, requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { createSecretVault } from "../secrets/vault.ts";
import { announce } from "../servers/load.ts";
import { targetOrg, toServerView } from "../servers/server-routes.ts";
import { activateVersion, insertServer, insertVersion } from "../servers/server-writes.ts";
import { type Catalogue, type Template, templateFiles } from "./catalogue.ts";
import { deployInputIssues } from "./deploy-input.ts";

// The gallery's operations, shared by the REST routes (template-routes.ts) and Isola's MCP server.

/** What a listing shows of a template. */
export const templateListing = (manifest: TemplateManifest) => ({
  id: manifest.id,
  name: manifest.name,
  description: manifest.description,
  egress: manifest.egress,
  secrets: manifest.secrets,
  authMode: manifest.authMode,
  settings: manifest.settings,
});

/** The template called `id`; 404 when the gallery has none. */
export function findTemplate(catalogue: Catalogue, id: string): Template {
  const template = catalogue.get(id);
  if (!template) throw problem("not-found", `no template called ${id}; GET /templates lists them`);
  return template;
}

/**
 * Deploys a template as a new live server in one call, with the same writes as POST /servers, PUT
 * secrets, POST versions and POST deploy: `servers:create` and `servers:deploy` in the org.
 */
export async function deployTemplate(
  deps: ControlDeps,
  request: FastifyRequest,
  template: Template,
  body: TemplateDeployBody,
): Promise<z.input<typeof templateDeployView>> {
  const { db, bus, config } = deps;
  const vault = createSecretVault({ db, key: deps.secretKey });
  const { manifest } = template;
  const issues = deployInputIssues(manifest, body);
  if (issues.length > 0) {
    throw problem("invalid-request", issues.map((issue) => issue.message).join("; "), { errors: issues });
  }
  const actor = requireActor(request);
  const org = await targetOrg(deps, request, body.org);
  await authorize(db, request, org.id, "servers:create");
  await authorize(db, request, org.id, "servers:deploy");
  // Fails fast before compiling; insertServer checks again, in its transaction.
  const taken = await db.selectFrom("servers").select("id").where("slug", "=", body.slug).executeTakeFirst();
  if (taken) throw problem("slug-taken", `a server called ${body.slug} exists; choose another slug`);

  const files = templateFiles(template, body.config);
  // Outside any transaction: compiling runs the code in a sandbox and takes a while.
  const result = await deps.compile(files);
  if (!result.ok) {
    throw problem(
      "compile-failed",
      `${result.errors.length} problem(s) in the ${manifest.id} template with these settings; nothing was stored`,
      { errors: result.errors },
    );
  }
  const { artifact } = result;
  const server = await insertServer(
    db,
    org,
    {
      slug: body.slug,
      name: body.name ?? manifest.name,
      description: manifest.description,
      authMode: body.authMode ?? manifest.authMode,
      // What this code, with these settings, declares: the caller chose both.
      egressApproved: artifact.manifest.egress,
      createdBy: actor.userId,
    },
    request,
  );
  try {
    await announce(bus, { kind: "created", serverId: server.id, slug: server.slug, activeVersionId: null }, request);
    await db.transaction().execute(async (trx) => {
      for (const [name, value] of Object.entries(body.secrets ?? {})) {
        await vault.set(server.id, name, value, trx);
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "secret.set",
          targetType: "server",
          targetId: server.id,
          detail: { name },
        });
      }
      await recordAudit(trx, request, {
        orgId: org.id,
        action: "template.deploy",
        targetType: "server",
        targetId: server.id,
        detail: { template: manifest.id, settings: Object.keys(body.config ?? {}) },
      });
    });
    const version = await insertVersion(db, server, files, artifact, actor.userId, request);
    const live = await activateVersion(
      deps,
      { server, version: { ...version, manifest: artifact.manifest }, kind: "deploy", actor: actorLabel(actor) },
      request,
      request.log,
    );
    const orgSlug = await db.selectFrom("orgs").select("slug").where("id", "=", org.id).executeTakeFirstOrThrow();
    return {
      server: toServerView({ ...live, org_slug: orgSlug.slug }, version.number, config.publicUrl),
      version: {
        number: version.number,
        hash: version.hash,
        compilerVersion: version.compiler_version,
        manifest: version.manifest,
        active: true,
        createdAt: version.created_at.toISOString(),
        createdBy: actor.email,
      },
    };
  } catch (error) {
    // Only a store failing gets here (the slug, plan and code were checked): undo the half-made
    // server rather than leave it without its secrets or version.
    await db
      .deleteFrom("servers")
      .where("id", "=", server.id)
      .execute()
      .catch(() => {});
    await announce(bus, { kind: "deleted", serverId: server.id, slug: server.slug, activeVersionId: null }, request);
    throw error;
  }
}
