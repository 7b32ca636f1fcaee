// A stand-in for the OAuth issuer (not built yet): a local ES256 key whose public half is served
// at `${PUBLIC_URL}/oauth/jwks`, where the runtime fetches the issuer's keys, and access tokens
// minted with it for one server's resource URL.
import type { FastifyPluginAsync } from "fastify";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface LocalIssuer {
  /** Serves the JWKS; mount it beside the roles' plugins. */
  plugin: FastifyPluginAsync;
  /** An access token for the server at `resource` (https://HOST/<slug>/mcp), valid for an hour. */
  mint(resource: string, subject: string): Promise<string>;
}

export async function localIssuer(issuer: string): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256", use: "sig" };
  const path = `${new URL(issuer).pathname}/jwks`;
  return {
    plugin: async (app) => {
      app.get(path, async () => ({ keys: [jwk] }));
    },
    mint: (resource, subject) =>
      new SignJWT({ scope: "mcp:tools", client_id: "isola-bench" })
        .setProtectedHeader({ alg: "ES256", kid: "bench" })
        .setIssuer(issuer)
        .setAudience(resource)
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
  };
}
