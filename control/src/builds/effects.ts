import type { DeclarativeServer, Manifest, ServerSource } from "@isola/schema";
import type { FastifyBaseLogger } from "fastify";
import type { ControlDeps } from "../deps.ts";
import { createSecretVault } from "../secrets/vault.ts";
import { activateVersion, type CompiledArtifact, insertVersion } from "../servers/server-writes.ts";
import { type BuildRow, diffTools } from "./build-states.ts";
import type { BuildModel } from "./model/build-model.ts";
import type { BuildEffects } from "./runner.ts";
import { runSmoke, type SmokeCase, type SmokeReport } from "./smoke.ts";

/** What a build does to the world, on the control plane's own functions (the same a person's API calls use). */
export function buildEffects(
  deps: ControlDeps,
  modelFor: (orgId: string) => Promise<BuildModel>,
  log: FastifyBaseLogger,
): BuildEffects {
  const { db } = deps;

  async function active(serverId: string): Promise<{ manifest: Manifest; source: ServerSource } | undefined> {
    const row = await db
      .selectFrom("servers as s")
      .innerJoin("server_versions as v", "v.id", "s.active_version_id")
      .select(["v.manifest", "v.source"])
      .where("s.id", "=", serverId)
      .executeTakeFirst();
    return row ? { manifest: row.manifest, source: row.source } : undefined;
  }

  /** The declarative tools of the server's live version: a build changes the code and keeps them. */
  async function liveDeclarative(build: BuildRow): Promise<DeclarativeServer | undefined> {
    if (!build.server_id) return undefined;
    const row = await db
      .selectFrom("servers as s")
      .innerJoin("server_versions as v", "v.id", "s.active_version_id")
      .select("v.declarative")
      .where("s.id", "=", build.server_id)
      .executeTakeFirst();
    return (row?.declarative as DeclarativeServer | null | undefined) ?? undefined;
  }

  const vault = createSecretVault({ db, key: deps.secretKey });

  /** The smoke calls, as the server's callers would make them: its secrets, its approved and declared hosts. */
  async function smokeRun(build: BuildRow, artifact: CompiledArtifact, cases: SmokeCase[]): Promise<SmokeReport> {
    const trial = deps.trial as NonNullable<ControlDeps["trial"]>;
    const server = build.server_id
      ? await db.selectFrom("servers").select("egress_approved").where("id", "=", build.server_id).executeTakeFirst()
      : undefined;
    const declared = new Set(artifact.manifest.egress);
    const egressHosts = (server?.egress_approved ?? []).filter((host) => declared.has(host));
    const env = build.server_id ? await vault.envFor(build.server_id) : {};
    const bundle = { code: artifact.bundle, hash: artifact.hash };
    return runSmoke(cases, (smoke) => trial(bundle, { tool: smoke.tool, args: smoke.input, env, egressHosts }));
  }

  const serverOf = (build: BuildRow) =>
    db
      .selectFrom("servers")
      .select(["id", "slug", "org_id"])
      .where("id", "=", build.server_id ?? "")
      .executeTakeFirstOrThrow();

  return {
    modelFor,
    compile: async (files, build) => deps.compile(files, await liveDeclarative(build)),
    current: active,
    ...(deps.trial ? { smoke: (build, artifact, cases) => smokeRun(build, artifact, cases) } : {}),
    async storeVersion(build, files, artifact) {
      const server = await serverOf(build);
      const before = await active(server.id);
      const version = await insertVersion(
        db,
        server,
        files,
        artifact,
        build.created_by,
        null,
        await liveDeclarative(build),
      );
      return {
        versionId: version.id,
        number: version.number,
        diff: diffTools(before?.manifest ?? null, artifact.manifest),
      };
    },
    async deploy(build, versionId) {
      const server = await serverOf(build);
      const version = await db
        .selectFrom("server_versions")
        .select(["id", "number", "manifest"])
        .where("id", "=", versionId)
        .executeTakeFirstOrThrow();
      await activateVersion(deps, { server, version, kind: "deploy", actor: `build ${build.id}` }, null, log);
      return { url: `${deps.config.publicUrl}/${server.slug}/mcp` };
    },
  };
}
