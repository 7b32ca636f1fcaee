import type { CompileResult } from "@isola/sandbox";
import {
  type AccessPolicy,
  type AuthMode,
  type Database,
  type DeclarativeServer,
  type Manifest,
  type Server,
  ServerLogs,
  type ServerSource,
} from "@isola/schema";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { type Kysely, sql } from "kysely";
import { recordAudit } from "../audit/record.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { announce } from "./load.ts";

// The writes that make and publish a server, shared by the REST routes, builds and templates.
// `request` is the caller whose audit entry it is; null for the system (a build running on its own).

export interface NewServer {
  slug: string;
  name: string;
  description?: string;
  authMode: AuthMode;
  accessPolicy?: AccessPolicy;
  egressApproved?: string[];
  createdBy: string | null;
}

const slugTaken = (slug: string) => problem("slug-taken", `a server called ${slug} exists; choose another slug`);

/** Creates a server in an org, within its plan's server limit; 409 slug-taken, 403 plan-limit. */
export async function insertServer(
  db: Kysely<Database>,
  org: { id: string; plan_id: string | null },
  values: NewServer,
  request: FastifyRequest | null,
): Promise<Server> {
  return db
    .transaction()
    .execute(async (trx) => {
      // Serialises creates in one org, so that two at once cannot both squeeze under the limit.
      await trx.selectFrom("orgs").select("id").where("id", "=", org.id).forUpdate().execute();
      const plan = await trx
        .selectFrom("plans")
        .select(["max_servers", "name"])
        .where("id", "=", org.plan_id ?? "")
        .executeTakeFirst();
      const { count } = await trx
        .selectFrom("servers")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .where("org_id", "=", org.id)
        .executeTakeFirstOrThrow();
      if (plan && Number(count) >= plan.max_servers) {
        throw problem(
          "plan-limit",
          `the ${plan.name} plan allows ${plan.max_servers} servers; delete one or change plan`,
        );
      }
      const taken = await trx.selectFrom("servers").select("id").where("slug", "=", values.slug).executeTakeFirst();
      if (taken) throw slugTaken(values.slug);
      const server = await trx
        .insertInto("servers")
        .values({
          org_id: org.id,
          slug: values.slug,
          name: values.name,
          description: values.description ?? "",
          auth_mode: values.authMode,
          access_policy: JSON.stringify(values.accessPolicy ?? { kind: "org" }),
          egress_approved: JSON.stringify(values.egressApproved ?? []),
          created_by: values.createdBy,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAudit(trx, request, {
        orgId: org.id,
        action: "server.create",
        targetType: "server",
        targetId: server.id,
        detail: { slug: server.slug, authMode: server.auth_mode },
      });
      return server;
    })
    .catch((error: unknown) => {
      // Two creates of one slug at once: the loser hits the unique index.
      if ((error as { code?: string }).code === "23505") throw slugTaken(values.slug);
      throw error;
    });
}

export type CompiledArtifact = Extract<CompileResult, { ok: true }>["artifact"];

/**
 * Stores checked code as the server's next version (numbers never repeat, even for uploads at once).
 * `declarative`: the declarative tools it was compiled with, besides `files`.
 */
export async function insertVersion(
  db: Kysely<Database>,
  server: { id: string; org_id: string },
  files: ServerSource,
  artifact: CompiledArtifact,
  createdBy: string | null,
  request: FastifyRequest | null,
  declarative?: DeclarativeServer,
) {
  return db.transaction().execute(async (trx) => {
    // Serialises numbering: two uploads at once get consecutive numbers, never the same.
    await trx.selectFrom("servers").select("id").where("id", "=", server.id).forUpdate().execute();
    const last = await trx
      .selectFrom("server_versions")
      .select((eb) => eb.fn.max("number").as("max"))
      .where("server_id", "=", server.id)
      .executeTakeFirst();
    const number = Number(last?.max ?? 0) + 1;
    const inserted = await trx
      .insertInto("server_versions")
      .values({
        server_id: server.id,
        number,
        source: JSON.stringify(files),
        bundle: artifact.bundle,
        manifest: JSON.stringify(artifact.manifest),
        hash: artifact.hash,
        compiler_version: artifact.compilerVersion,
        build_log: JSON.stringify([{ step: "compile", ok: true, at: new Date().toISOString() }]),
        declarative: declarative === undefined ? null : JSON.stringify(declarative),
        created_by: createdBy,
      })
      .returning(["id", "number", "hash", "compiler_version", "manifest", "created_at"])
      .executeTakeFirstOrThrow();
    await recordAudit(trx, request, {
      orgId: server.org_id,
      action: "version.create",
      targetType: "server",
      targetId: server.id,
      detail: { version: number, hash: artifact.hash, tools: artifact.manifest.tools.map((t) => t.name) },
    });
    return inserted;
  });
}

/**
 * Adds hosts to a server's approved egress (keeping those approved already), under its row lock.
 * Run it in the caller's transaction, with its audit record.
 */
export async function approveHosts(trx: Kysely<Database>, serverId: string, hosts: string[]): Promise<void> {
  if (hosts.length === 0) return;
  const current = await trx
    .selectFrom("servers")
    .select("egress_approved")
    .where("id", "=", serverId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const approved = [...new Set([...current.egress_approved, ...hosts])];
  await trx
    .updateTable("servers")
    .set({ egress_approved: JSON.stringify(approved) })
    .where("id", "=", serverId)
    .execute();
}

/** Declared egress hosts the owner has not approved (patterns must match exactly). */
export function unapprovedEgress(manifest: Manifest, approved: string[]): string[] {
  const allowed = new Set(approved.map((host) => host.toLowerCase()));
  return manifest.egress.filter((host) => !allowed.has(host.toLowerCase()));
}

export interface Activation {
  server: { id: string; slug: string; org_id: string };
  version: { id: string; number: number; manifest: Manifest };
  kind: "deploy" | "rollback";
  /** Who, as the deployment history shows it. */
  actor: string;
}

/**
 * Moves the active-version pointer under the server's row lock, records the deployment, then
 * announces it to the runtimes and writes it to the server's log. 409 egress-not-approved when
 * the version reaches hosts the server has not approved.
 */
export async function activateVersion(
  deps: Pick<ControlDeps, "db" | "bus">,
  { server, version, kind, actor }: Activation,
  request: FastifyRequest | null,
  log: Pick<FastifyBaseLogger, "warn">,
): Promise<Server> {
  const { db, bus } = deps;
  const updated = await db.transaction().execute(async (trx) => {
    // Concurrent deploys of one server run one after the other: the history lists them in
    // the order they took effect, and the last one listed is the one live.
    const current = await trx
      .selectFrom("servers")
      .select(["active_version_id", "egress_approved", "status"])
      .where("id", "=", server.id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const unapproved = unapprovedEgress(version.manifest, current.egress_approved);
    if (unapproved.length > 0) {
      throw problem(
        "egress-not-approved",
        `approve these hosts first (PATCH egressApproved): ${unapproved.join(", ")}`,
        {
          hosts: unapproved,
        },
      );
    }
    const row = await trx
      .updateTable("servers")
      .set({
        active_version_id: version.id,
        status: current.status === "paused" ? "paused" : "live",
        revision: sql<number>`revision + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where("id", "=", server.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto("deployments")
      .values({
        server_id: server.id,
        version_id: version.id,
        previous_version_id: current.active_version_id,
        kind,
        actor,
        // The time it took effect (after the lock), not when the transaction began: the history's order.
        created_at: sql<Date>`clock_timestamp()`,
      })
      .execute();
    await recordAudit(trx, request, {
      orgId: server.org_id,
      action: `server.${kind}`,
      targetType: "server",
      targetId: server.id,
      detail: { version: version.number },
    });
    return row;
  });
  await announce(
    bus,
    { kind: "deployed", serverId: server.id, slug: server.slug, activeVersionId: version.id },
    { log },
  );
  await new ServerLogs(bus).write(server.id, {
    level: "info",
    source: "deploy",
    message: `version ${version.number} is live (${kind} by ${actor})`,
    data: { kind, version: version.number },
  });
  return updated;
}
