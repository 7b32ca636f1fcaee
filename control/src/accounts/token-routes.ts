import { createdToken, createTokenBody, tokenView } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import type { Actor } from "../auth/actor.ts";
import { requireActor } from "../auth/authorize.ts";
import { newToken } from "../auth/secrets-at-rest.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { patGrantId } from "../oauth/dashboard-tokens.ts";
import { announceGrantRevoked } from "../oauth/grants.ts";

type TokenRow = {
  id: string;
  name: string;
  org_slug: string;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const toTokenView = (row: TokenRow) => ({
  id: row.id,
  name: row.name,
  org: row.org_slug,
  prefix: row.prefix,
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at?.toISOString() ?? null,
  lastUsedAt: row.last_used_at?.toISOString() ?? null,
  revokedAt: row.revoked_at?.toISOString() ?? null,
});

/** Personal access tokens: for the API and the CLI, scoped to one org, shown once, stored hashed. */
export function tokenRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;
  /** The caller's tokens; a token sees and revokes only its own org's, like everything else it does. */
  const tokens = (actor: Actor) => {
    const query = db
      .selectFrom("personal_access_tokens as t")
      .innerJoin("orgs as o", "o.id", "t.org_id")
      .select([
        "t.id",
        "t.name",
        "t.prefix",
        "t.created_at",
        "t.expires_at",
        "t.last_used_at",
        "t.revoked_at",
        "o.slug as org_slug",
        "t.org_id",
      ])
      .where("t.user_id", "=", actor.userId);
    return actor.via === "token" ? query.where("t.org_id", "=", actor.orgId) : query;
  };

  addRoute(app, context, {
    method: "POST",
    url: "/me/tokens",
    operationId: "createToken",
    summary: "Create a personal access token (the response is the only time it is shown)",
    tag: "accounts",
    access: "signed-in",
    body: createTokenBody,
    status: 201,
    response: createdToken,
    problems: ["not-found"],
    idempotent: true,
    secretInResponse: true,
    async handler({ body, request }) {
      const actor = requireActor(request);
      let orgs = db
        .selectFrom("memberships as m")
        .innerJoin("orgs as o", "o.id", "m.org_id")
        .select(["o.id", "o.slug"])
        .where("m.user_id", "=", actor.userId);
      if (body.org !== undefined) orgs = orgs.where("o.slug", "=", body.org);
      // A token can only make tokens for its own org.
      if (actor.via === "token") orgs = orgs.where("o.id", "=", actor.orgId);
      const found = await orgs.execute();
      if (found.length === 0)
        throw problem("not-found", body.org ? `you are not in an org called ${body.org}` : "you belong to no org");
      if (found.length > 1)
        throw problem("invalid-request", `say which org the token is for: ${found.map((o) => o.slug).join(", ")}`);
      const org = found[0] as { id: string; slug: string };
      const { token, hash, prefix } = newToken("pat");
      const expires = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null;
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto("personal_access_tokens")
          .values({
            user_id: actor.userId,
            org_id: org.id,
            name: body.name,
            token_hash: hash,
            prefix,
            expires_at: expires,
          })
          .returning(["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"])
          .executeTakeFirstOrThrow();
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "token.create",
          targetType: "token",
          targetId: inserted.id,
          detail: { name: body.name },
        });
        return inserted;
      });
      return { ...toTokenView({ ...row, org_slug: org.slug }), token };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/me/tokens",
    operationId: "listTokens",
    summary: "Your personal access tokens (never their values)",
    tag: "accounts",
    access: "signed-in",
    status: 200,
    response: z.object({ items: z.array(tokenView) }),
    async handler({ request }) {
      const actor = requireActor(request);
      const rows = await tokens(actor).orderBy("t.created_at", "desc").execute();
      return { items: rows.map(toTokenView) };
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/me/tokens/:id",
    operationId: "revokeToken",
    summary: "Revoke one of your tokens (effective at once)",
    tag: "accounts",
    access: "signed-in",
    params: z.object({ id: z.uuid() }),
    status: 204,
    response: null,
    problems: ["not-found"],
    async handler({ params, request }) {
      const actor = requireActor(request);
      const row = await tokens(actor).where("t.id", "=", params.id).executeTakeFirst();
      if (!row) throw problem("not-found", "you have no token with that id");
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("personal_access_tokens")
          .set({ revoked_at: new Date() })
          .where("id", "=", params.id)
          .where("revoked_at", "is", null)
          .execute();
        await recordAudit(trx, request, {
          orgId: row.org_id,
          action: "token.revoke",
          targetType: "token",
          targetId: params.id,
          detail: { name: row.name },
        });
      });
      // The playground tokens it minted stop at once on every runtime node, not when their cache lapses.
      await announceGrantRevoked(deps.bus, patGrantId(params.id));
      return undefined;
    },
  });
}
