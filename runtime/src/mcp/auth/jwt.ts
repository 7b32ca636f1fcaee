import { createHash } from "node:crypto";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";

export interface TokenClaims {
  subject: string;
  clientId: string | null;
  scopes: string[];
}

export type JwtFailure = "invalid_token" | "expired" | "wrong_audience";

/** How long a verified token is trusted without checking its signature again (never past its `exp`). */
const VERIFIED_TTL_MS = 60_000;
/** Verified tokens remembered per node; past this the oldest are forgotten. */
const VERIFIED_MAX = 10_000;

interface Verified {
  claims: TokenClaims;
  until: number;
}

/**
 * Verifies OAuth access tokens locally: the signature against the issuer's JWKS (a getter that
 * caches the keys and refetches on an unknown kid), `iss`, `exp`/`nbf` (with 30 s of clock
 * tolerance), and `aud` exactly this server's resource URL: a token for one server is worthless
 * at another. Asymmetric algorithms only: `none` and HS256-with-the-public-key are refused.
 *
 * A verified token is remembered (by its hash and audience) for a minute, never past its `exp`:
 * a client sends the same token on every call, and checking an ES256 signature costs more than
 * the rest of the call's path.
 */
export function createJwtVerifier(options: { issuer: string; keys: JWTVerifyGetKey; now?: () => number }) {
  const now = options.now ?? Date.now;
  const verified = new Map<string, Verified>();
  return async (
    token: string,
    audience: string,
  ): Promise<{ ok: true; claims: TokenClaims } | { ok: false; reason: JwtFailure }> => {
    const key = `${createHash("sha256").update(token).digest("base64url")} ${audience}`;
    const at = now();
    const known = verified.get(key);
    if (known && known.until > at) return { ok: true, claims: known.claims };
    if (known) verified.delete(key);
    try {
      const { payload } = await jwtVerify(token, options.keys, {
        issuer: options.issuer,
        audience,
        algorithms: ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        clockTolerance: 30,
        requiredClaims: ["sub", "exp"],
        currentDate: new Date(at),
      });
      const scope = typeof payload.scope === "string" ? payload.scope : "";
      const clientId = typeof payload.client_id === "string" ? payload.client_id : null;
      const claims = { subject: String(payload.sub), clientId, scopes: scope.split(" ").filter(Boolean) };
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
      verified.set(key, { claims, until: Math.min(at + VERIFIED_TTL_MS, (payload.exp as number) * 1000) });
      return { ok: true, claims };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === "aud")
        return { ok: false, reason: "wrong_audience" };
      return { ok: false, reason: "invalid_token" };
    }
  };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;

/**
 * The issuer's signing keys from its JWKS URL, cached for 10 minutes. A token signed with a kid
 * the cache lacks (the issuer rotated its key) refetches them, at most once a second: jose's
 * default of 30 s would refuse every token of a freshly rotated key for up to 30 s, while a
 * flood of made-up kids still costs at most one fetch a second per node.
 */
export function issuerKeys(url: URL): JWTVerifyGetKey {
  return createRemoteJWKSet(url, { cooldownDuration: 1000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5000 });
}
