import { createHash } from "node:crypto";
import { GRANT_CLAIM } from "@isola/schema";
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";

export interface TokenClaims {
  subject: string;
  clientId: string | null;
  scopes: string[];
}

export type JwtFailure = "invalid_token" | "expired" | "wrong_audience" | "revoked";

export type JwtOutcome = { ok: true; claims: TokenClaims } | { ok: false; reason: JwtFailure };

/** How long a verified token is trusted without checking its signature again (never past its `exp`). */
const VERIFIED_TTL_MS = 60_000;
/** Verified tokens remembered per node; past this the oldest are forgotten. */
const VERIFIED_MAX = 10_000;

interface Verified {
  claims: TokenClaims;
  grantId: string;
  until: number;
}

export interface JwtVerifierOptions {
  issuer: string;
  keys: JWTVerifyGetKey;
  /** Whether the grant a token was issued under still stands (the user or the token's chain did not revoke it). */
  grantIsLive(grantId: string): Promise<boolean>;
  now?: () => number;
}

/**
 * Verifies OAuth access tokens locally: the signature against the issuer's JWKS (a getter that
 * caches the keys and refetches on an unknown kid), `iss`, `exp`/`nbf` (with 30 s of clock
 * tolerance), and `aud` exactly this server's resource URL: a token for one server is worthless
 * at another. Asymmetric algorithms only: `none` and HS256-with-the-public-key are refused.
 * The token's grant (its GRANT_CLAIM) must still stand: a revoked grant's tokens are refused
 * before they expire.
 *
 * A verified token is remembered (by its hash and audience) for a minute, never past its `exp`:
 * a client sends the same token on every call, and checking an ES256 signature costs more than
 * the rest of the call's path. A revocation announced on the Bus forgets its grant's tokens at once.
 */
export class JwtVerifier {
  readonly #options: JwtVerifierOptions;
  readonly #now: () => number;
  readonly #verified = new Map<string, Verified>();

  constructor(options: JwtVerifierOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async verify(token: string, audience: string): Promise<JwtOutcome> {
    const key = `${createHash("sha256").update(token).digest("base64url")} ${audience}`;
    const at = this.#now();
    const known = this.#verified.get(key);
    if (known && known.until > at) return { ok: true, claims: known.claims };
    if (known) this.#verified.delete(key);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#options.keys, {
        issuer: this.#options.issuer,
        audience,
        algorithms: ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        clockTolerance: 30,
        requiredClaims: ["sub", "exp", GRANT_CLAIM],
        currentDate: new Date(at),
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === "aud")
        return { ok: false, reason: "wrong_audience" };
      return { ok: false, reason: "invalid_token" };
    }
    const grantId = payload[GRANT_CLAIM];
    if (typeof grantId !== "string") return { ok: false, reason: "invalid_token" };
    if (!(await this.#options.grantIsLive(grantId))) return { ok: false, reason: "revoked" };
    const scope = typeof payload.scope === "string" ? payload.scope : "";
    const clientId = typeof payload.client_id === "string" ? payload.client_id : null;
    const claims = { subject: String(payload.sub), clientId, scopes: scope.split(" ").filter(Boolean) };
    if (this.#verified.size >= VERIFIED_MAX) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(key, { claims, grantId, until: Math.min(at + VERIFIED_TTL_MS, (payload.exp as number) * 1000) });
    return { ok: true, claims };
  }

  /** Forgets the remembered tokens of a revoked grant: their next use asks whether it stands. */
  forgetGrant(grantId: string): void {
    for (const [key, entry] of this.#verified) if (entry.grantId === grantId) this.#verified.delete(key);
  }
}

/**
 * The issuer's signing keys from its JWKS URL, cached for 10 minutes. A token signed with a kid
 * the cache lacks (the issuer rotated its key) refetches them, at most once a second: jose's
 * default of 30 s would refuse every token of a freshly rotated key for up to 30 s, while a
 * flood of made-up kids still costs at most one fetch a second per node.
 */
export function issuerKeys(url: URL): JWTVerifyGetKey {
  return createRemoteJWKSet(url, { cooldownDuration: 1000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5000 });
}
