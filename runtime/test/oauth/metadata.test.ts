// The authorization server's metadata (RFC 8414 and OpenID discovery) at every URL an MCP client
// tries for an issuer with a path, saying exactly what it supports; its JWKS; and the chain a
// client follows from a server's 401 to that metadata.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OAuthInstance, startOAuthInstance } from "../support/oauth-fixtures.ts";

describe("authorization server metadata", () => {
  let instance: OAuthInstance;
  let serverUrl: string;

  beforeAll(async () => {
    instance = await startOAuthInstance();
    const owner = await instance.person();
    serverUrl = await instance.server(owner, "meta-notes");
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
  });

  const documentAt = async (path: string) => {
    const response = await fetch(`${instance.api.url}${path}`);
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, type: response.headers.get("content-type"), body };
  };

  it.each([
    "/.well-known/oauth-authorization-server/oauth",
    "/.well-known/openid-configuration/oauth",
    "/oauth/.well-known/oauth-authorization-server",
    "/oauth/.well-known/openid-configuration",
  ])("is served at %s, naming the issuer and its endpoints under PUBLIC_URL", async (path) => {
    const { status, type, body } = await documentAt(path);
    expect(status).toBe(200);
    expect(type).toMatch(/^application\/json/);
    const issuer = instance.issuer;
    expect(body).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      registration_endpoint: `${issuer}/reg`,
      revocation_endpoint: `${issuer}/token/revocation`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
    expect(body.token_endpoint_auth_methods_supported).toContain("none");
    expect(body.token_endpoint_auth_methods_supported).not.toContain("client_secret_jwt");
    // No implicit or hybrid flow, no userinfo, no device flow, no DPoP (the MCP endpoint checks no proof).
    expect(body).not.toHaveProperty("userinfo_endpoint");
    expect(body).not.toHaveProperty("device_authorization_endpoint");
    expect(body).not.toHaveProperty("dpop_signing_alg_values_supported");
    expect(body).not.toHaveProperty("pushed_authorization_request_endpoint");
  });

  it("builds its URLs from PUBLIC_URL whatever Host the request came with", async () => {
    const response = await instance.api.app.inject({
      method: "GET",
      url: "/.well-known/oauth-authorization-server/oauth",
      headers: { host: "attacker.example", "x-forwarded-host": "attacker.example", "x-forwarded-proto": "https" },
    });
    expect(response.json().authorization_endpoint).toBe(`${instance.issuer}/auth`);
  });

  it("serves no metadata at the root of a host that serves many issuers' resources", async () => {
    expect((await fetch(`${instance.api.url}/.well-known/oauth-authorization-server`)).status).toBe(404);
  });

  it("publishes ES256 public keys only", async () => {
    const response = await fetch(`${instance.issuer}/jwks`);
    expect(response.headers.get("content-type")).toMatch(/^application\/jwk-set\+json/);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(typeof key.kid).toBe("string");
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    }
  });

  it("is where a server's 401 leads: challenge -> protected resource metadata -> this issuer", async () => {
    const unauthorized = await fetch(serverUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(unauthorized.status).toBe(401);
    const challenge = unauthorized.headers.get("www-authenticate") ?? "";
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${instance.api.url}/.well-known/oauth-protected-resource/meta-notes/mcp`);
    const resource = (await (await fetch(metadataUrl as string)).json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ resource: serverUrl, authorization_servers: [instance.issuer] });
    // RFC 8414 path insertion, as a 2025-11-25 client builds it from the issuer.
    const issuer = new URL(instance.issuer);
    const asMetadata = await fetch(`${issuer.origin}/.well-known/oauth-authorization-server${issuer.pathname}`);
    expect(((await asMetadata.json()) as { issuer: string }).issuer).toBe(instance.issuer);
  });

  it("has no development login pages", async () => {
    // oidc-provider's devInteractions accept any password; Isola's own pages (the web app's) need
    // the interaction cookie: without it, there is no sign-in here.
    const response = await fetch(`${instance.issuer}/interaction/anything`);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/This sign-in has expired/);
  });
});
