import type { BuildPlan, BuildView, CompileDiagnostic, Database } from "@isola/schema";
import type { Kysely } from "kysely";
import type { BuildRow } from "./build-states.ts";

/** A build with what its view names: its org's slug, its server's slug, its version's number. */
export type BuildWithNames = BuildRow & { org_slug: string; server_slug: string | null; version_number: number | null };

/** Builds with the names their views show. */
export function buildsWithNames(db: Kysely<Database>) {
  return db
    .selectFrom("builds as b")
    .innerJoin("orgs as o", "o.id", "b.org_id")
    .leftJoin("servers as s", "s.id", "b.server_id")
    .leftJoin("server_versions as v", "v.id", "b.version_id")
    .selectAll("b")
    .select(["o.slug as org_slug", "s.slug as server_slug", "v.number as version_number"]);
}

export function loadBuildWithNames(db: Kysely<Database>, id: string): Promise<BuildWithNames | undefined> {
  return buildsWithNames(db).where("b.id", "=", id).executeTakeFirst();
}

export function toBuildView(build: BuildWithNames, publicUrl: string): BuildView {
  const error = build.error as { message: string; errors?: CompileDiagnostic[] } | null;
  return {
    id: build.id,
    kind: build.kind,
    status: build.status,
    prompt: build.prompt,
    org: build.org_slug,
    server: build.server_slug,
    authMode: build.auth_mode,
    autoDeploy: build.auto_deploy,
    plan: (build.plan as BuildPlan | null) ?? null,
    round: build.round,
    maxRounds: build.max_rounds,
    version: build.version_number,
    url:
      build.status === "succeeded" && build.server_slug && build.auto_deploy
        ? `${publicUrl}/${build.server_slug}/mcp`
        : null,
    error: error ? { message: error.message, ...(error.errors ? { errors: error.errors } : {}) } : null,
    createdAt: build.created_at.toISOString(),
    finishedAt: build.finished_at?.toISOString() ?? null,
  };
}
