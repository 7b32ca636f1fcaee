// An OAuth issuer played by a test: an ES256 key, its JWKS served at ${PUBLIC_URL}/oauth/jwks
// through the harness's `plugins` option, and access tokens minted as the real one would.
import type { FastifyPluginAsync } from "fastify";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

export class TestIssuer {
  #key: { privateKey: SigningKey; jwk: JWK } | undefined;

  /** Mounts GET /oauth/jwks. */
  plugin: FastifyPluginAsync = async (app) => {
    app.get("/oauth/jwks", async () => ({ keys: [(await this.#signingKey()).jwk] }));
  };

  async #signingKey() {
    if (!this.#key) {
      const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
      this.#key = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" } };
    }
    return this.#key;
  }

  /** An access token of `publicUrl`'s issuer for `resource`, granting `scope` (space-separated). */
  async mint(publicUrl: string, resource: string, scope: string, claims: Record<string, unknown> = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope, client_id: "client-1", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt" })
      .setIssuer(`${publicUrl}/oauth`)
      .setAudience(resource)
      .setSubject(typeof claims.sub === "string" ? claims.sub : "user-1")
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign((await this.#signingKey()).privateKey);
  }
}
