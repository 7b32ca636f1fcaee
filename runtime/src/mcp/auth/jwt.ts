import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";

export interface TokenClaims {
  subject: string;
  clientId: string | null;
  scopes: string[];
}

export type JwtFailure = "invalid_token" | "expired" | "wrong_audience";

/**
 * Verifies OAuth access tokens locally: the signature against the issuer's JWKS (a getter that
 * caches the keys and refetches on an unknown kid), `iss`, `exp`/`nbf` (with 30 s of clock
 * tolerance), and `aud` exactly this server's resource URL: a token for one server is worthless
 * at another. Asymmetric algorithms only: `none` and HS256-with-the-public-key are refused.
 */
export function createJwtVerifier(options: { issuer: string; keys: JWTVerifyGetKey }) {
  return async (
    token: string,
    audience: string,
  ): Promise<{ ok: true; claims: TokenClaims } | { ok: false; reason: JwtFailure }> => {
    try {
      const { payload } = await jwtVerify(token, options.keys, {
        issuer: options.issuer,
        audience,
        algorithms: ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        clockTolerance: 30,
        requiredClaims: ["sub", "exp"],
      });
      const scope = typeof payload.scope === "string" ? payload.scope : "";
      const clientId = typeof payload.client_id === "string" ? payload.client_id : null;
      return { ok: true, claims: { subject: String(payload.sub), clientId, scopes: scope.split(" ").filter(Boolean) } };
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
