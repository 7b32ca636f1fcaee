// A stand-in for the OAuth issuer (the real one needs a sign-in per token): a local ES256 key whose
// public half is served at `${PUBLIC_URL}/oauth/jwks`, where the runtime fetches the issuer's keys,
// and access tokens minted with it for one server's resource URL, under a grant stored as the
// issuer would (the runtime checks that a token's grant stands).
import type { FastifyPluginAsync } from "fastify";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface LocalIssuer {
  /** Serves the JWKS; mount it beside the roles' plugins. */
  plugin: FastifyPluginAsync;
  /** An access token for the server at `resource` (https://HOST/<slug>/mcp), valid for an hour. */
  mint(resource: string, subject: string, grantId: string): Promise<string>;
}

export async function localIssuer(issuer: string): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256", use: "sig" };
  const path = `${new URL(issuer).pathname}/jwks`;
  return {
    plugin: async (app) => {
      app.get(path, async () => ({ keys: [jwk] }));
    },
    mint: (resource, subject, grantId) =>
      new SignJWT({ scope: "mcp:tools", client_id: "isola-bench", grant_id: grantId })
        .setProtectedHeader({ alg: "ES256", kid: "bench" })
        .setIssuer(issuer)
        .setAudience(resource)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
  };
}
