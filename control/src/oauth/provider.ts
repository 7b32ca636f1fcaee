import { type Database, GRANT_CLAIM } from "@isola/schema";
import type { Kysely } from "kysely";
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from "oidc-provider";
import { ACCOUNT_ID, userMayUse } from "./access-policy.ts";
import { kyselyAdapter } from "./adapter.ts";
import { applyClientPolicy } from "./client-policy.ts";
import type { OperatorClient } from "./clients-file.ts";
import { latestGrantId } from "./grants.ts";
import { LIFETIMES } from "./lifetimes.ts";
import { metadataFetch } from "./metadata-fetch.ts";
import { type ResourceUrlOptions, resolveResource } from "./resources.ts";
import { SIGNING_ALG, type SigningJwk } from "./signing-keys.ts";
import { errorPage, logoutPage, PAGE_HEADERS, signedOutPage } from "./views.ts";

/** Where the interaction pages live, below the issuer's path. */
export const interactionPath = (uid: string) => `/oauth/interaction/${uid}`;

export interface ProviderParts {
  db: Kysely<Database>;
  /** `${PUBLIC_URL}/oauth` */
  issuer: string;
  urls: ResourceUrlOptions;
  /** Signing key first. */
  keys: SigningJwk[];
  /** Sign the authorization server's cookies (derived from the secrets key: the same on every node). */
  cookieKeys: string[];
  clients: OperatorClient[];
  allowLoopbackMetadata: boolean;
  /** Per-address limit on metadata-document fetches: false refuses the fetch. */
  mayFetchMetadata(ip: string): Promise<boolean>;
}

/** The account a request acts for, when one is known yet: the code's or refresh token's, else the signed-in one. */
function accountOf(ctx: KoaContextWithOIDC): string | undefined {
  const { entities, session } = ctx.oidc;
  return entities.AuthorizationCode?.accountId ?? entities.RefreshToken?.accountId ?? session?.accountId;
}

/**
 * oidc-provider configured as the MCP authorization server (spec 2025-11-25; see docs/ARCHITECTURE.md,
 * "OAuth"). Every default that matters is set here on purpose; the library's comments in
 * FIELD-NOTES.md list the traps.
 */
export function providerConfiguration(parts: ProviderParts): Configuration {
  const { db } = parts;
  const signingKid = parts.keys[0]?.kid;
  return {
    adapter: kyselyAdapter(db),
    jwks: { keys: parts.keys },
    clients: parts.clients,
    cookies: {
      keys: parts.cookieKeys,
      names: { session: "isola_oauth_session", interaction: "isola_oauth_interaction", resume: "isola_oauth_resume" },
      long: { httpOnly: true, sameSite: "lax" },
      short: { httpOnly: true, sameSite: "lax" },
    },
    // The authorization code flow, nothing else; PKCE (S256, the only method the library offers) for every client.
    responseTypes: ["code"],
    pkce: { required: () => true },
    clientAuthMethods: ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
    clientDefaults: {
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      // With only an ES256 key, registrations would fail on the library's RS256 default.
      id_token_signed_response_alg: SIGNING_ALG,
    },
    enabledJWA: {
      idTokenSigningAlgValues: [SIGNING_ALG],
      clientAuthSigningAlgValues: ["ES256", "RS256", "PS256", "EdDSA"],
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, issueRegistrationAccessToken: false },
      revocation: {
        enabled: true,
        // Only the client a token was issued to may revoke it; for another client the token is
        // as good as unknown (RFC 7009: still 200, nothing revoked).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: false },
      // Also the step the library takes when another account signs in on a browser with a session.
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.set(PAGE_HEADERS);
          ctx.body = logoutPage(form, ctx.host);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.set(PAGE_HEADERS);
          ctx.body = signedOutPage();
        },
      },
      pushedAuthorizationRequests: { enabled: false },
      // DPoP-bound tokens would need a proof at the MCP endpoint, which does not check one: bearer only.
      dPoP: { enabled: false },
      clientIdMetadataDocument: {
        enabled: true,
        ack: "draft-02",
        allowFetch: (ctx: KoaContextWithOIDC) => parts.mayFetchMetadata(ctx.ip),
      },
      resourceIndicators: {
        enabled: true,
        // `resource` is required: a token always names the one server it is for.
        async defaultResource(_ctx: KoaContextWithOIDC, _client: unknown, oneOf?: readonly string[]) {
          if (oneOf) return oneOf;
          throw new errors.InvalidTarget("send resource: the MCP URL of the server the token is for");
        },
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx: KoaContextWithOIDC, resource: string) {
          const requested = ctx.oidc.params?.resource;
          if (Array.isArray(requested) && requested.length > 1) {
            throw new errors.InvalidTarget("ask for one server per authorization");
          }
          const resolved = await resolveResource(db, resource, parts.urls);
          if (!resolved.ok) throw new errors.InvalidTarget(resolved.reason);
          const accountId = accountOf(ctx);
          if (accountId && !(await userMayUse(db, accountId, resolved.server))) {
            throw new errors.InvalidTarget(`the server ${resolved.server.slug} does not admit you`);
          }
          return {
            scope: resolved.server.scopes.join(" "),
            audience: resource,
            accessTokenFormat: "jwt" as const,
            accessTokenTTL: LIFETIMES.AccessToken,
            jwt: { sign: { alg: SIGNING_ALG, ...(signingKid ? { kid: signingKid } : {}) } },
          };
        },
      },
    },
    fetch: metadataFetch({ allowLoopback: parts.allowLoopbackMetadata }),
    extraClientMetadata: {
      // A hook that sees every client the library builds (registered, from a metadata document, or
      // the operator's); the property itself is never set.
      properties: ["isola_policy"],
      validator(_ctx, key, _value, metadata) {
        if (key !== "isola_policy") return;
        const refusal = applyClientPolicy(metadata as Record<string, unknown>);
        if (refusal) throw new errors.InvalidClientMetadata(refusal.description);
      },
    },
    async findAccount(_ctx, sub) {
      if (!ACCOUNT_ID.test(sub)) return undefined;
      const user = await db.selectFrom("users").select("id").where("id", "=", sub).executeTakeFirst();
      return user ? { accountId: user.id, claims: () => ({ sub: user.id }) } : undefined;
    },
    // A consent is remembered per user and client, not only per sign-in session.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      const clientId = oidc.client?.clientId;
      const accountId = oidc.session?.accountId;
      const grantId =
        oidc.result?.consent?.grantId ??
        (clientId ? oidc.session?.grantIdFor(clientId) : undefined) ??
        (clientId && accountId ? await latestGrantId(db, accountId, clientId) : undefined);
      return grantId ? oidc.provider.Grant.find(grantId) : undefined;
    },
    // Refresh tokens for every client allowed the grant type (not only with offline_access), living
    // as long as their grant, not the sign-in session; rotated on every use (reuse revokes the grant).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    rotateRefreshToken(ctx: KoaContextWithOIDC) {
      // The library rotates (consumes) before it checks the resource: a client asking for another
      // server would lose its refresh token, and its next try would revoke the grant as a reuse.
      const requested = ctx.oidc.params?.resource;
      const token = ctx.oidc.entities.RefreshToken;
      if (requested !== undefined && (typeof requested !== "string" || !token?.resourceIndicators.has(requested))) {
        throw new errors.InvalidTarget("this refresh token is for another resource");
      }
      return true;
    },
    // The runtime refuses the tokens of a revoked grant: it needs to know which grant a token is of.
    extraTokenClaims: async (_ctx, token) =>
      token.kind === "AccessToken" && token.grantId ? { [GRANT_CLAIM]: token.grantId } : undefined,
    ttl: { ...LIFETIMES },
    interactions: { url: async (_ctx, interaction) => interactionPath(interaction.uid) },
    async renderError(ctx, out) {
      ctx.set(PAGE_HEADERS);
      ctx.body = errorPage("This sign-in cannot go on", `${out.error}: ${out.error_description ?? ""}`);
    },
  };
}

/** A provider for the issuer; requests reach it with X-Forwarded-* set from PUBLIC_URL (see plugin.ts). */
export function createProvider(parts: ProviderParts): Provider {
  const provider = new Provider(parts.issuer, providerConfiguration(parts));
  provider.proxy = true;
  return provider;
}
