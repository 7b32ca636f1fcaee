import {
  type Database,
  type SecretListItem,
  secretList,
  secretName,
  secretSetView,
  serverSlug,
  setSecretBody,
} from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import type { ControlDeps } from "../deps.ts";
import { changedSince, etagOf, revisionFromOptionalIfMatch } from "../http/etag.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { announce, loadServer, type ServerWithOrg } from "../servers/load.ts";
import { createSecretVault } from "./vault.ts";

/** Bounds what one server can store (and what envFor decrypts for each isolate): 100 x 64 KiB. */
export const MAX_SECRETS_PER_SERVER = 100;

const slugParams = z.object({ slug: serverSlug });
const nameParams = slugParams.extend({ name: secretName });

/** The names the server's active version reads through `env`. */
async function declaredSecrets(db: Kysely<Database>, server: ServerWithOrg): Promise<string[]> {
  if (!server.active_version_id) return [];
  const row = await db
    .selectFrom("server_versions")
    .select("manifest")
    .where("id", "=", server.active_version_id)
    .executeTakeFirst();
  return row?.manifest.secrets ?? [];
}

/** Why a conditional set found nothing to replace: the value moved on, or there is none. */
async function staleSecret(db: Kysely<Database>, server: ServerWithOrg, name: string, revision: number) {
  const stored = await db
    .selectFrom("secrets")
    .select("name")
    .where("server_id", "=", server.id)
    .where("name", "=", name)
    .executeTakeFirst();
  if (stored) return changedSince(`the secret ${name}`, revision);
  return problem(
    "precondition-failed",
    `${server.slug} has no secret ${name} to match If-Match; send no If-Match to create it`,
  );
}

const changed = (server: ServerWithOrg) => ({
  kind: "secrets" as const,
  serverId: server.id,
  slug: server.slug,
  activeVersionId: server.active_version_id,
});

/**
 * Sets a server's secret (`secrets:write`), encrypted; with `expected`, only the value at that
 * revision is replaced. The answer names it, never its value.
 */
export async function setSecret(
  deps: ControlDeps,
  request: FastifyRequest,
  slug: string,
  name: string,
  value: string,
  expected?: number,
): Promise<{ name: string; updatedAt: string; revision: number }> {
  const { db, bus } = deps;
  const vault = createSecretVault({ db, key: deps.secretKey });
  const server = await loadServer(db, request, slug, "secrets:write");
  const saved = await db.transaction().execute(async (trx) => {
    // Serialises writes to one server's secrets, so that two at once cannot pass the limit.
    const locked = await trx.selectFrom("servers").select("id").where("id", "=", server.id).forUpdate().execute();
    if (locked.length === 0) throw problem("not-found", `no server called ${server.slug}`);
    const { count } = await trx
      .selectFrom("secrets")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .where("server_id", "=", server.id)
      .where("name", "<>", name)
      .executeTakeFirstOrThrow();
    if (Number(count) >= MAX_SECRETS_PER_SERVER) {
      throw problem("conflict", `a server holds at most ${MAX_SECRETS_PER_SERVER} secrets; delete one first`);
    }
    const row =
      expected === undefined
        ? await vault.set(server.id, name, value, trx)
        : await vault.replace(server.id, name, value, expected, trx);
    if (!row) throw await staleSecret(trx, server, name, expected ?? 0);
    await recordAudit(trx, request, {
      orgId: server.org_id,
      action: "secret.set",
      targetType: "server",
      targetId: server.id,
      detail: { name },
    });
    return row;
  });
  await announce(bus, changed(server), request);
  return { name: saved.name, updatedAt: saved.updatedAt.toISOString(), revision: saved.revision };
}

/**
 * Per-server secrets, write-only: values go in through PUT and out only to the runtime
 * (vault.envFor). Responses, audit entries and announcements carry names, never values.
 */
export function secretRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db, bus } = deps;
  const vault = createSecretVault({ db, key: deps.secretKey });
  addRoute(app, context, {
    method: "PUT",
    url: "/servers/:slug/secrets/:name",
    operationId: "setSecret",
    summary: "Set a secret (creates or replaces; If-Match optional); the value is never returned",
    tag: "secrets",
    access: "secrets:write",
    params: nameParams,
    body: setSecretBody,
    status: 200,
    response: secretSetView,
    problems: ["not-found", "forbidden", "conflict", "payload-too-large", "precondition-failed"],
    async handler({ params, body, request, reply }) {
      // Optional: a value cannot be read back, so a blind set loses no edit it could have merged.
      // With If-Match, only the value at that revision is replaced (and nothing is created).
      const expected = revisionFromOptionalIfMatch(request.headers["if-match"]);
      const saved = await setSecret(deps, request, params.slug, params.name, body.value, expected);
      reply.header("etag", etagOf(saved.revision));
      return saved;
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/secrets",
    operationId: "listSecrets",
    summary: "Secret names (set, and declared by the active version), never values",
    tag: "secrets",
    access: "secrets:read",
    params: slugParams,
    status: 200,
    response: secretList,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const server = await loadServer(db, request, params.slug, "secrets:read");
      const [stored, declared] = await Promise.all([vault.names(server.id), declaredSecrets(db, server)]);
      const wanted = new Set(declared);
      const items: SecretListItem[] = stored.map((secret) => ({
        name: secret.name,
        set: true,
        declared: wanted.has(secret.name),
        updatedAt: secret.updatedAt.toISOString(),
        revision: secret.revision,
      }));
      const set = new Set(stored.map((secret) => secret.name));
      for (const name of wanted) {
        if (!set.has(name)) items.push({ name, set: false, declared: true, updatedAt: null, revision: null });
      }
      items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { items };
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/servers/:slug/secrets/:name",
    operationId: "deleteSecret",
    summary: "Delete a secret",
    tag: "secrets",
    access: "secrets:write",
    params: nameParams,
    status: 204,
    response: null,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const server = await loadServer(db, request, params.slug, "secrets:write");
      await db.transaction().execute(async (trx) => {
        if (!(await vault.delete(server.id, params.name, trx))) {
          throw problem("not-found", `${server.slug} has no secret ${params.name}`);
        }
        await recordAudit(trx, request, {
          orgId: server.org_id,
          action: "secret.delete",
          targetType: "server",
          targetId: server.id,
          detail: { name: params.name },
        });
      });
      await announce(bus, changed(server), request);
      return undefined;
    },
  });
}
