import { BASE_SCOPE, bearerChallenge, type Database, type ResourceUrls } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { type Actor, resolveActor } from "../auth/actor.ts";
import { TOKEN_PREFIXES } from "../auth/secrets-at-rest.ts";
import { Problem } from "../http/problems.ts";
import { ACCOUNT_ID } from "../oauth/access-policy.ts";

// Who is calling Isola's MCP server: a personal access token (checked as the REST API checks it),
// or an OAuth access token of Isola's own authorization server for this endpoint. A browser
// session's cookie is not enough: an MCP client always sends a bearer token.

/** What the composition root hands over to check OAuth access tokens (the runtime's JwtVerifier). */
export interface AccessTokenVerifier {
  verify(
    token: string,
    audience: string,
  ): Promise<
    | { ok: true; claims: { subject: string; clientId: string | null; scopes: string[] } }
    | { ok: false; reason: "invalid_token" | "expired" | "wrong_audience" | "revoked" }
  >;
  /** Forgets what it remembers of a revoked grant's tokens. */
  forgetGrant(grantId: string): void;
}

export type CallerOutcome =
  | { ok: true; actor: Actor }
  | { ok: false; status: 401 | 403; message: string; challenge: string };

const REFUSALS = {
  expired: "the access token has expired",
  wrong_audience: "the access token is for another resource",
  revoked: "the access token's grant has been revoked",
  invalid_token: "the access token is not valid",
} as const;

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1: the scheme is case-insensitive). */
function bearer(request: FastifyRequest): string | undefined {
  return /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? "")?.[1];
}

export interface CallerDeps {
  db: Kysely<Database>;
  /** Absent: OAuth access tokens are refused (personal access tokens still work). */
  accessTokens?: AccessTokenVerifier | undefined;
  urls: ResourceUrls;
}

/** The caller of one request, or the refusal (401 with the challenge that leads to the metadata; 403 for scope). */
export async function authenticateCaller(request: FastifyRequest, deps: CallerDeps): Promise<CallerOutcome> {
  const scopes = [BASE_SCOPE];
  const refuse = (message: string, error?: "invalid_token"): CallerOutcome => ({
    ok: false,
    status: 401,
    message,
    challenge: bearerChallenge(deps.urls, scopes, error ? { code: error, description: message } : undefined),
  });
  const token = bearer(request);
  if (!token) return refuse("authorization required: an OAuth access token, or Bearer isola_pat_...");

  if (token.startsWith(TOKEN_PREFIXES.pat)) {
    try {
      const actor = await resolveActor(request, deps.db);
      return actor ? { ok: true, actor } : refuse("authorization required");
    } catch (error) {
      if (error instanceof Problem) return refuse(error.message, "invalid_token");
      throw error;
    }
  }

  const verified = deps.accessTokens
    ? await deps.accessTokens.verify(token, deps.urls.resource)
    : ({ ok: false, reason: "invalid_token" } as const);
  if (!verified.ok) return refuse(REFUSALS[verified.reason], "invalid_token");
  const { claims } = verified;
  if (!claims.scopes.includes(BASE_SCOPE)) {
    // RFC 6750 §3.1: a valid token without the scope is 403, naming the scope to ask for.
    const message = `the access token lacks the scope ${BASE_SCOPE}`;
    return {
      ok: false,
      status: 403,
      message,
      challenge: bearerChallenge(deps.urls, scopes, { code: "insufficient_scope", description: message }),
    };
  }
  const user = ACCOUNT_ID.test(claims.subject)
    ? await deps.db.selectFrom("users").select(["id", "email"]).where("id", "=", claims.subject).executeTakeFirst()
    : undefined;
  if (!user) return refuse("the access token's account does not exist", "invalid_token");
  return { ok: true, actor: { via: "oauth", userId: user.id, email: user.email, clientId: claims.clientId } };
}

/** What a session is bound to: the same token, or the same account through the same client. */
export function callerKey(actor: Actor): string {
  switch (actor.via) {
    case "token":
      return `token:${actor.tokenId}`;
    case "oauth":
      return `oauth:${actor.userId}:${actor.clientId ?? ""}`;
    case "session":
      return `session:${actor.sessionId}`;
  }
}
