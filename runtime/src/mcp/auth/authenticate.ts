import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { ApiKeyIdentity, Caller, RuntimeDeps } from "../context.ts";
import type { ServerRecord } from "../server-directory.ts";
import { bearerChallenge, type ResourceUrls } from "./protected-resource.ts";

export type AuthOutcome =
  | { ok: true; caller: Caller }
  | { ok: false; status: 401 | 403; message: string; headers: Record<string, string> };

/** The default scope every token for an Isola server carries. */
export const BASE_SCOPE = "mcp:tools";

const KEY_CACHE_MS = 5000;

/**
 * API keys checked recently, by hash: a hot key is not a query per call. A revoked key stops
 * working within KEY_CACHE_MS, and at once where the control plane's announcement arrives
 * (forgetServer).
 */
export class ApiKeyCache {
  readonly #entries = new Map<string, { identity: ApiKeyIdentity | null; expiresAt: number }>();

  async verify(key: string, verify: (key: string) => Promise<ApiKeyIdentity | null>): Promise<ApiKeyIdentity | null> {
    const hash = createHash("sha256").update(key).digest("hex");
    const now = Date.now();
    const cached = this.#entries.get(hash);
    if (cached && cached.expiresAt > now) return cached.identity;
    const identity = await verify(key);
    if (this.#entries.size > 50_000) this.#entries.clear();
    this.#entries.set(hash, { identity, expiresAt: now + KEY_CACHE_MS });
    return identity;
  }

  forgetServer(serverId: string): void {
    for (const [hash, entry] of this.#entries)
      if (!entry.identity || entry.identity.serverId === serverId) this.#entries.delete(hash);
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(" ");
  return scheme?.toLowerCase() === "bearer" && value ? value : undefined;
}

/** Who is calling, by the server's auth mode. Never passes a token or key beyond this point. */
export async function authenticate(
  deps: RuntimeDeps,
  keys: ApiKeyCache,
  server: ServerRecord,
  request: FastifyRequest,
  urls: ResourceUrls,
): Promise<AuthOutcome> {
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
        user: null,
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
    ? await deps.verifyJwt(token, urls.resource)
    : ({ ok: false, reason: "invalid_token" } as const);
  if (!verified.ok) {
    const description =
      verified.reason === "expired"
        ? "the access token has expired"
        : verified.reason === "wrong_audience"
          ? "the access token is for another resource"
          : "the access token is not valid";
    return {
      ok: false,
      status: 401,
      message: description,
      headers: { "www-authenticate": bearerChallenge(urls, scopes, { code: "invalid_token", description }) },
    };
  }
  const { claims } = verified;
  return {
    ok: true,
    caller: {
      kind: "oauth",
      label: claims.clientId ? `${claims.subject} via ${claims.clientId}` : claims.subject,
      user: claims,
      rateKey: `${server.id}:sub:${claims.subject}`,
    },
  };
}
