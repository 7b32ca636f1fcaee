import { timingSafeEqual } from "node:crypto";
import type { Database } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { problem } from "../http/problems.ts";
import { hashToken, TOKEN_PREFIXES } from "./secrets-at-rest.ts";

export const SESSION_COOKIE = "isola_session";

/**
 * Who is calling: a signed-in user (browser session), a personal access token (API, CLI), or an
 * MCP client holding an OAuth access token for Isola's own MCP server (it acts as its user, in
 * every org of theirs, like a session; resolved by mcp-server/caller.ts, never by resolveActor).
 */
export type Actor =
  | { via: "session"; userId: string; email: string; sessionId: string; csrfToken: string }
  | { via: "token"; userId: string; email: string; tokenId: string; tokenName: string; orgId: string }
  | { via: "oauth"; userId: string; email: string; clientId: string | null };

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Resolves the caller from `Authorization: Bearer isola_pat_...` or the session cookie.
 * No credentials: null. Credentials that do not check out: 401, never a silent fallback.
 * A browser session that writes must also send the session's CSRF token (X-CSRF-Token).
 */
export async function resolveActor(
  request: FastifyRequest,
  db: Kysely<Database>,
  now = new Date(),
): Promise<Actor | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const [scheme, token] = header.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token?.startsWith(TOKEN_PREFIXES.pat)) {
      throw problem("unauthenticated", "send a personal access token as `Authorization: Bearer isola_pat_...`");
    }
    const row = await db
      .selectFrom("personal_access_tokens as t")
      .innerJoin("users as u", "u.id", "t.user_id")
      .select(["t.id", "t.name", "t.org_id", "t.user_id", "t.expires_at", "t.revoked_at", "t.last_used_at", "u.email"])
      .where("t.token_hash", "=", hashToken(token))
      .executeTakeFirst();
    if (!row || row.revoked_at || (row.expires_at && row.expires_at <= now)) {
      throw problem("unauthenticated", "the token is unknown, revoked or expired");
    }
    // Recording every use would be a write per request: once a minute is enough to show activity.
    if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
      await db.updateTable("personal_access_tokens").set({ last_used_at: now }).where("id", "=", row.id).execute();
    }
    return {
      via: "token",
      userId: row.user_id,
      email: row.email,
      tokenId: row.id,
      tokenName: row.name,
      orgId: row.org_id,
    };
  }

  const cookie = request.cookies?.[SESSION_COOKIE];
  if (!cookie) return null;
  const session = await db
    .selectFrom("sessions as s")
    .innerJoin("users as u", "u.id", "s.user_id")
    .select(["s.id", "s.user_id", "s.csrf_token", "s.expires_at", "u.email"])
    .where("s.id", "=", hashToken(cookie))
    .executeTakeFirst();
  if (!session || session.expires_at <= now) throw problem("unauthenticated", "the session has expired; sign in again");
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers["x-csrf-token"];
    if (typeof sent !== "string" || !sameString(sent, session.csrf_token)) {
      throw problem("csrf-failed", "send the session's CSRF token in the X-CSRF-Token header");
    }
  }
  return {
    via: "session",
    userId: session.user_id,
    email: session.email,
    sessionId: session.id,
    csrfToken: session.csrf_token,
  };
}

/** How the audit log names an actor. */
export function actorLabel(actor: Actor): string {
  if (actor.via === "token") return `${actor.email} (token ${actor.tokenName})`;
  if (actor.via === "oauth" && actor.clientId) return `${actor.email} (MCP client ${actor.clientId})`;
  return actor.email;
}
