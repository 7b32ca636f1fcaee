// An OAuth client as an MCP client plays it against the authorization server, by hand (fetch):
// registration, PKCE, the authorization URL, and the token endpoint. For the tests of the
// authorization server itself; end-to-end tests use real clients (the SDK, mcp-remote).
import { createHash, randomBytes } from "node:crypto";

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  [key: string]: unknown;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope?: string;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

async function answer<T>(response: Response): Promise<Answer<T>> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Dynamic client registration (RFC 7591). */
export async function register(issuer: string, metadata: Record<string, unknown>): Promise<Answer> {
  return answer(
    await fetch(`${issuer}/reg`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(metadata),
    }),
  );
}

/** A public client (no secret) with one loopback redirect URI, as desktop MCP clients register. */
export async function registerPublicClient(
  issuer: string,
  metadata: Record<string, unknown> = {},
): Promise<RegisteredClient> {
  const registered = await register(issuer, {
    client_name: "Test client",
    redirect_uris: ["http://127.0.0.1:9/callback"],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    ...metadata,
  });
  if (registered.status !== 201) throw new Error(`registration failed: ${JSON.stringify(registered.body)}`);
  return registered.body as RegisteredClient;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export function authorizationUrl(
  issuer: string,
  params: { client: RegisteredClient; challenge: string; resource?: string; scope?: string; state?: string } & Record<
    string,
    unknown
  >,
): URL {
  const { client, challenge, resource, scope, state, ...extra } = params;
  const url = new URL(`${issuer}/auth`);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", client.client_id);
  url.searchParams.set("redirect_uri", client.redirect_uris[0] as string);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", state ?? randomBytes(8).toString("hex"));
  if (resource !== undefined) url.searchParams.set("resource", resource);
  if (scope !== undefined) url.searchParams.set("scope", scope);
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, String(value));
  return url;
}

/** A POST to the token endpoint (or another form endpoint) as a public client. */
export async function tokenRequest(issuer: string, form: Record<string, string>, path = "/token"): Promise<Answer> {
  return answer(
    await fetch(`${issuer}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    }),
  );
}

export function exchangeCode(
  issuer: string,
  input: { client: RegisteredClient; code: string; verifier: string; resource?: string; redirectUri?: string },
): Promise<Answer> {
  return tokenRequest(issuer, {
    grant_type: "authorization_code",
    client_id: input.client.client_id,
    code: input.code,
    code_verifier: input.verifier,
    redirect_uri: input.redirectUri ?? (input.client.redirect_uris[0] as string),
    ...(input.resource ? { resource: input.resource } : {}),
  });
}

export function refresh(
  issuer: string,
  input: { client: RegisteredClient; refreshToken: string; resource?: string },
): Promise<Answer> {
  return tokenRequest(issuer, {
    grant_type: "refresh_token",
    client_id: input.client.client_id,
    refresh_token: input.refreshToken,
    ...(input.resource ? { resource: input.resource } : {}),
  });
}

/** The payload of a JWT, unverified (the tests verify through the runtime). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString()) as Record<string, unknown>;
}

export function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString()) as Record<string, unknown>;
}
