import { apiKeyList, createApiKeyBody, createdApiKey, serverSlug } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { requireActor } from "../auth/authorize.ts";
import { newToken } from "../auth/secrets-at-rest.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { announce, loadServer } from "../servers/load.ts";

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  rate_limit_per_minute: number | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const KEY_COLUMNS = [
  "id",
  "name",
  "prefix",
  "created_at",
  "expires_at",
  "rate_limit_per_minute",
  "last_used_at",
  "revoked_at",
] as const;

const toKeyView = (row: KeyRow) => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at?.toISOString() ?? null,
  rateLimitPerMinute: row.rate_limit_per_minute,
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
  revokedAt: row.revoked_at?.toISOString() ?? null,
});

const slugParams = z.object({ slug: serverSlug });

/** API keys for MCP clients of a server: shown once, stored as sha256, revocable. */
export function keyRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db, bus } = deps;
  const now = () => deps.now?.() ?? new Date();

  addRoute(app, context, {
    method: "POST",
    url: "/servers/:slug/keys",
    operationId: "createApiKey",
    summary: "Create an API key for MCP clients (the response is the only time it is shown)",
    tag: "keys",
    access: "keys:manage",
    params: slugParams,
    body: createApiKeyBody,
    status: 201,
    response: createdApiKey,
    problems: ["not-found", "forbidden", "conflict"],
    idempotent: true,
    secretInResponse: true,
    async handler({ params, body, request }) {
      const server = await loadServer(db, request, params.slug, "keys:manage");
      const { token, hash, prefix } = newToken("apiKey");
      const expires = body.expiresInDays ? new Date(now().getTime() + body.expiresInDays * 86_400_000) : null;
      const row = await db.transaction().execute(async (trx) => {
        // Serialises key creation per server, so that two creates cannot both take a free name.
        await trx.selectFrom("servers").select("id").where("id", "=", server.id).forUpdate().execute();
        const taken = await trx
          .selectFrom("api_keys")
          .select("id")
          .where("server_id", "=", server.id)
          .where("name", "=", body.name)
          .where("revoked_at", "is", null)
          .executeTakeFirst();
        if (taken)
          throw problem("conflict", `${server.slug} has a key called ${body.name}; revoke it or choose another name`);
        const inserted = await trx
          .insertInto("api_keys")
          .values({
            server_id: server.id,
            name: body.name,
            key_hash: hash,
            prefix,
            rate_limit_per_minute: body.rateLimitPerMinute ?? null,
            expires_at: expires,
            created_by: requireActor(request).userId,
          })
          .returning(KEY_COLUMNS)
          .executeTakeFirstOrThrow();
        await recordAudit(trx, request, {
          orgId: server.org_id,
          action: "key.create",
          targetType: "api_key",
          targetId: inserted.id,
          detail: { server: server.slug, name: body.name },
        });
        return inserted;
      });
      await announce(
        bus,
        { kind: "keys", serverId: server.id, slug: server.slug, activeVersionId: server.active_version_id },
        request,
      );
      return { ...toKeyView(row), key: token };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/keys",
    operationId: "listApiKeys",
    summary: "A server's API keys, newest first, revoked ones included (never their values)",
    tag: "keys",
    access: "keys:read",
    params: slugParams,
    status: 200,
    response: apiKeyList,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const server = await loadServer(db, request, params.slug, "keys:read");
      const rows = await db
        .selectFrom("api_keys")
        .select(KEY_COLUMNS)
        .where("server_id", "=", server.id)
        .orderBy("created_at", "desc")
        .orderBy("id")
        .execute();
      return { items: rows.map(toKeyView) };
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/servers/:slug/keys/:id",
    operationId: "revokeApiKey",
    summary: "Revoke an API key; runtimes stop accepting it within seconds",
    tag: "keys",
    access: "keys:manage",
    params: slugParams.extend({ id: z.uuid() }),
    status: 204,
    response: null,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const server = await loadServer(db, request, params.slug, "keys:manage");
      const revoked = await db.transaction().execute(async (trx) => {
        const key = await trx
          .selectFrom("api_keys")
          .select(["id", "name", "revoked_at"])
          .where("id", "=", params.id)
          .where("server_id", "=", server.id)
          .forUpdate()
          .executeTakeFirst();
        if (!key) throw problem("not-found", `${server.slug} has no key with that id`);
        // Revoking twice is not an error, and not a second event.
        if (key.revoked_at) return false;
        await trx.updateTable("api_keys").set({ revoked_at: now() }).where("id", "=", key.id).execute();
        await recordAudit(trx, request, {
          orgId: server.org_id,
          action: "key.revoke",
          targetType: "api_key",
          targetId: key.id,
          detail: { server: server.slug, name: key.name },
        });
        return true;
      });
      if (revoked) {
        await announce(
          bus,
          { kind: "keys", serverId: server.id, slug: server.slug, activeVersionId: server.active_version_id },
          request,
        );
      }
      return undefined;
    },
  });
}
