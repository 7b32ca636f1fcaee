import { createHash } from "node:crypto";
import { BASE_SCOPE, DASHBOARD_CLIENT_ID } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { ApiKeyIdentity, Caller, RuntimeDeps } from "../context.ts";
import { ExpiringCache } from "../expiring-cache.ts";
import type { ServerRecord } from "../server-directory.ts";
import type { JwtFailure, TokenClaims } from "./jwt.ts";
import { bearerChallenge, type ResourceUrls } from "./protected-resource.ts";

export type AuthOutcome =
  | { ok: true; caller: Caller }
  | { ok: false; status: 401 | 403; message: string; headers: Record<string, string> };

/** The default scope every token for an Isola server carries (defined in the schema, with tools' scopes). */
export { BASE_SCOPE };

const KEY_CACHE_MS = 5000;

/**
 * API keys checked recently, by hash: a hot key is not a query per call. A revoked key stops
 * working within KEY_CACHE_MS, and at once where the control plane's announcement arrives
 * (forgetServer). While the database is away a known key keeps working (ExpiringCache).
 */
export class ApiKeyCache {
  readonly #entries = new ExpiringCache<ApiKeyIdentity | null>({ maxEntries: 50_000 });

  verify(key: string, verify: (key: string) => Promise<ApiKeyIdentity | null>): Promise<ApiKeyIdentity | null> {
    const hash = createHash("sha256").update(key).digest("hex");
    return this.#entries.get(
      hash,
      () => verify(key),
      () => KEY_CACHE_MS,
    );
  }

  forgetServer(serverId: string): void {
    this.#entries.deleteWhere((_hash, identity) => !identity || identity.serverId === serverId);
  }
}

const JWT_REFUSALS: Record<JwtFailure, string> = {
  expired: "the access token has expired",
  wrong_audience: "the access token is for another resource",
  revoked: "the access token's grant has been revoked",
  invalid_token: "the access token is not valid",
};

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1: the scheme is case-insensitive). */
function bearer(request: FastifyRequest): string | undefined {
  return /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? "")?.[1];
}

/** A JWT's shape (three base64url parts): API keys never have it, so only such bearers cost a verification. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** How logs and usage name the dashboard's playground, and anyone else. */
const callerLabel = (claims: TokenClaims) =>
  claims.clientId === DASHBOARD_CLIENT_ID
    ? `dashboard: ${claims.subject}`
    : claims.clientId
      ? `${claims.subject} via ${claims.clientId}`
      : claims.subject;

const oauthCaller = (server: ServerRecord, claims: TokenClaims): Caller => ({
  kind: "oauth",
  label: callerLabel(claims),
  user: claims,
  rateKey: `${server.id}:sub:${claims.subject}`,
});

/**
 * The dashboard's playground caller, when the bearer is a dashboard token for this server (minted
 * by the control plane for a user who may change it; control/src/oauth/dashboard-tokens.ts). Such
 * a token is admitted on every auth mode so that the playground works without an API key; any other
 * JWT is not (an OAuth client's token stays refused on an api_key server): undefined.
 */
async function dashboardCaller(
  deps: RuntimeDeps,
  server: ServerRecord,
  token: string | undefined,
  urls: ResourceUrls,
): Promise<Caller | undefined> {
  if (!token || !deps.verifyJwt || !JWT_SHAPE.test(token)) return undefined;
  const verified = await deps.verifyJwt.verify(token, urls.resource);
  if (!verified.ok || verified.claims.clientId !== DASHBOARD_CLIENT_ID) return undefined;
  if (!verified.claims.scopes.includes(BASE_SCOPE)) return undefined;
  return oauthCaller(server, verified.claims);
}

/** Who is calling, by the server's auth mode. Never passes a token or key beyond this point. */
export async function authenticate(
  deps: RuntimeDeps,
  keys: ApiKeyCache,
  server: ServerRecord,
  request: FastifyRequest,
  urls: ResourceUrls,
): Promise<AuthOutcome> {
  if (server.authMode !== "oauth") {
    const dashboard = await dashboardCaller(deps, server, bearer(request), urls);
    if (dashboard) return { ok: true, caller: dashboard };
  }

  if (server.authMode === "public") {
    return {
      ok: true,
      caller: { kind: "anonymous", label: "anonymous", user: null, rateKey: `${server.id}:ip:${request.ip}` },
    };
  }

  if (server.authMode === "api_key") {
    const apiKeyHeader = request.headers["x-api-key"];
    const key = bearer(request) ?? (typeof apiKeyHeader === "string" ? apiKeyHeader : undefined);
    const challenge = { "www-authenticate": 'Bearer realm="isola"' };
    if (!key)
      return {
        ok: false,
        status: 401,
        message: "send an API key: Authorization: Bearer <key> or X-API-Key",
        headers: challenge,
      };
    const identity = await keys.verify(key, deps.verifyApiKey);
    if (!identity || identity.serverId !== server.id) {
      return {
        ok: false,
        status: 401,
        message: "the API key is not valid for this server (unknown, revoked or expired)",
        headers: challenge,
      };
    }
    return {
      ok: true,
      caller: {
        kind: "key",
        label: identity.name,
        // What the guest API promises tool code: the key's name (never the key).
        user: { subject: identity.name, clientId: null, scopes: [] },
        rateKey: `${server.id}:key:${identity.keyId}`,
        ...(identity.rateLimitPerMinute === null ? {} : { rateLimitPerMinute: identity.rateLimitPerMinute }),
      },
    };
  }

  // oauth
  const token = bearer(request);
  const scopes = [BASE_SCOPE];
  if (!token) {
    return {
      ok: false,
      status: 401,
      message: "authorization required",
      headers: { "www-authenticate": bearerChallenge(urls, scopes) },
    };
  }
  const verified = deps.verifyJwt
    ? await deps.verifyJwt.verify(token, urls.resource)
    : ({ ok: false, reason: "invalid_token" } as const);
  if (!verified.ok) {
    const description = JWT_REFUSALS[verified.reason];
    return {
      ok: false,
      status: 401,
      message: description,
      headers: { "www-authenticate": bearerChallenge(urls, scopes, { code: "invalid_token", description }) },
    };
  }
  const { claims } = verified;
  const missing = scopes.filter((scope) => !claims.scopes.includes(scope));
  if (missing.length > 0) {
    // RFC 6750 §3.1: a valid token without the scope is 403, and the challenge names the scope
    // to ask for, so that the client can step up.
    const description = `the access token lacks the scope ${missing.join(" ")}`;
    return {
      ok: false,
      status: 403,
      message: description,
      headers: { "www-authenticate": bearerChallenge(urls, scopes, { code: "insufficient_scope", description }) },
    };
  }
  return { ok: true, caller: oauthCaller(server, claims) };
}
