import type {
  AuthMode,
  BuildPlan,
  BuildView,
  ConfirmBuildBody,
  createBuildBody,
  iterateBuildBody,
} from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { authorize, requireActor } from "../auth/authorize.ts";
import type { Permission } from "../auth/rbac.ts";
import type { ControlDeps } from "../deps.ts";
import { type Problem, problem } from "../http/problems.ts";
import { createOrgSecrets, ORG_MODEL_KEY } from "../secrets/org-secrets.ts";
import { createSecretVault } from "../secrets/vault.ts";
import { loadServer } from "../servers/load.ts";
import { targetOrg } from "../servers/server-routes.ts";
import { approveHosts, insertServer } from "../servers/server-writes.ts";
import { CANCELLABLE, slugFromName } from "./build-states.ts";
import { appendEvent, BUILDS_READY_CHANNEL, setStatusUnlessFinished } from "./build-store.ts";
import { type BuildWithNames, loadBuildWithNames, toBuildView } from "./build-view.ts";

// What a caller does to builds (queue, confirm, cancel, read), each with the permission check the
// REST route declares; shared by the routes (build-routes.ts) and Isola's MCP server (mcp-server/).

/** Repair rounds a build gets after its first code, unless the instance says otherwise. */
export const DEFAULT_MAX_ROUNDS = 3;

export interface BuildPolicy {
  /** Whether a model can answer for this org (an org key or the instance's); builds are refused without one. */
  hasModel(orgId: string): Promise<boolean>;
  maxRounds?: number;
}

/** Builds need a model key: the org's own (PUT /orgs/{org}/model-key) or the instance's. */
export function modelBuildPolicy(deps: Pick<ControlDeps, "db" | "config" | "secretKey">): BuildPolicy {
  const secrets = createOrgSecrets({ db: deps.db, key: deps.secretKey });
  return {
    hasModel: async (orgId) =>
      deps.config.anthropicApiKey !== undefined || (await secrets.updatedAt(orgId, ORG_MODEL_KEY)) !== undefined,
  };
}

const NO_MODEL =
  "no language model is configured: set ANTHROPIC_API_KEY for the instance (or the org's key); templates, declarative tools and code deploys work without one";

/**
 * Why a confirmation does not fit its plan, or undefined: hosts or secrets the plan does not
 * name, or a required secret neither given nor set already (`setAlready`). Pure.
 */
export function confirmationProblem(
  plan: BuildPlan,
  body: Pick<ConfirmBuildBody, "secrets" | "approvedEgress">,
  setAlready: string[],
): Problem | undefined {
  const unplanned = body.approvedEgress.filter((host) => !plan.egress.includes(host));
  if (unplanned.length > 0) {
    return problem("invalid-request", `approve only hosts the plan names; not in it: ${unplanned.join(", ")}`);
  }
  const unknownSecrets = Object.keys(body.secrets).filter((name) => !plan.secrets.some((s) => s.name === name));
  if (unknownSecrets.length > 0) {
    return problem("invalid-request", `the plan asks for no secret called ${unknownSecrets.join(", ")}`);
  }
  const missing = plan.secrets
    .filter((secret) => secret.required && !(secret.name in body.secrets) && !setAlready.includes(secret.name))
    .map((secret) => secret.name);
  if (missing.length > 0) return problem("invalid-request", `the plan needs these secrets: ${missing.join(", ")}`);
  return undefined;
}

export type BuildActions = ReturnType<typeof buildActions>;

export function buildActions(deps: ControlDeps, policy: BuildPolicy) {
  const { db, bus, config } = deps;
  const vault = createSecretVault({ db, key: deps.secretKey });
  const maxRounds = policy.maxRounds ?? DEFAULT_MAX_ROUNDS;
  const view = (build: BuildWithNames): BuildView => toBuildView(build, config.publicUrl);
  const wake = () => bus.publish(BUILDS_READY_CHANNEL, "").catch(() => {});
  const reload = async (id: string) => view((await loadBuildWithNames(db, id)) as BuildWithNames);

  /** The build if the caller may `permission` its org; 404 otherwise. */
  async function load(request: FastifyRequest, id: string, permission: Permission): Promise<BuildWithNames> {
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
  ): Promise<BuildView> {
    if (!(await policy.hasModel(values.orgId))) throw problem("model-not-configured", NO_MODEL);
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
    // Read before a runner is woken: the answer is the build as queued.
    const queued = await reload(row.id);
    await wake();
    return queued;
  }

  /** `base`, or base-2, base-3... the first slug no server has. */
  async function freeSlug(base: string): Promise<string> {
    for (let n = 1; n < 100; n++) {
      const slug = n === 1 ? base : `${base.slice(0, 36)}-${n}`;
      const taken = await db.selectFrom("servers").select("id").where("slug", "=", slug).executeTakeFirst();
      if (!taken) return slug;
    }
    throw problem("slug-taken", `every slug like ${base} is taken; name the server's slug`);
  }

  return {
    load,
    view,

    /** Queues a build of a new server (`servers:create` in the org). */
    async create(request: FastifyRequest, body: z.output<typeof createBuildBody>): Promise<BuildView> {
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

    /** Queues a build that changes a server (`servers:update` on it). */
    async iterate(request: FastifyRequest, slug: string, body: z.output<typeof iterateBuildBody>): Promise<BuildView> {
      const server = await loadServer(db, request, slug, "servers:update");
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

    /**
     * Answers a waiting build's plan (`servers:update`): stores its secrets (making the server, for
     * a new build), approves the hosts it names, and hands it back to the runners.
     */
    async confirm(request: FastifyRequest, id: string, body: ConfirmBuildBody): Promise<BuildView> {
      const build = await load(request, id, "servers:update");
      if (build.status !== "waiting") {
        throw problem("conflict", `the build is ${build.status}, not waiting for a confirmation`);
      }
      const plan = build.plan as BuildPlan;
      const refusal = confirmationProblem(plan, body, await secretsSet(build));
      if (refusal) throw refusal;

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
        if (build.server_id !== null) await approveHosts(trx, server.id, body.approvedEgress);
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
      const confirmed = await reload(build.id);
      await wake();
      return confirmed;
    },

    /** Stops a build that has not ended (`servers:update`); a version it already stored stays. */
    async cancel(request: FastifyRequest, id: string): Promise<BuildView> {
      const build = await load(request, id, "servers:update");
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
      return reload(build.id);
    },

    secretsSet,
  };

  /** The names of the secrets the build's server has set (none before a new build's confirmation). */
  async function secretsSet(build: Pick<BuildWithNames, "server_id">): Promise<string[]> {
    if (build.server_id === null) return [];
    const rows = await db.selectFrom("secrets").select("name").where("server_id", "=", build.server_id).execute();
    return rows.map((row) => row.name);
  }
}
