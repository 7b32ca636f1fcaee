// An instance for the authorization server's tests: listening on a real port (the runtime fetches
// the issuer's JWKS over HTTP, and the user agent speaks HTTP), people with passwords, and
// `oauth` servers they own.
import { randomBytes } from "node:crypto";
import type { AccessPolicy, Manifest } from "@isola/schema";
import { type Api, type ApiOptions, type Client, deployHello, startApi } from "./api-harness.ts";
import { quickDatabase } from "./mcp.ts";

export const PASSWORD = "correct horse battery";

export interface Person {
  email: string;
  password: string;
  userId: string;
  org: string;
  /** A browser session of the control plane's API. */
  session: Client;
  /** A personal access token of the person's org. */
  token: Client;
}

export interface OAuthInstance {
  api: Api;
  issuer: string;
  /** A new account with a password, and its own org. */
  person(): Promise<Person>;
  /** Deploys the hello example as an `oauth` server of `owner`'s org; returns its MCP URL. */
  server(owner: Person, slug: string, options?: { accessPolicy?: AccessPolicy }): Promise<string>;
  close(): Promise<void>;
}

export async function startOAuthInstance(
  env: Record<string, string> = {},
  options: ApiOptions = {},
): Promise<OAuthInstance> {
  const api = await startApi(quickDatabase(), env, { listen: true, ...options });
  const issuer = `${api.url}/oauth`;
  return {
    api,
    issuer,
    async person() {
      const email = `person-${randomBytes(4).toString("hex")}@example.com`;
      const { session, org } = await api.signup(email, PASSWORD);
      const me = await session.get("me");
      return { email, password: PASSWORD, userId: me.body.user.id, org, session, token: await api.tokenFor(session) };
    },
    async server(owner, slug, options = {}) {
      await deployHello(owner.token, slug, {
        authMode: "oauth",
        ...(options.accessPolicy ? { accessPolicy: options.accessPolicy } : {}),
      });
      return `${api.url}/${slug}/mcp`;
    },
    close: () => api.close(),
  };
}

/** An MCP initialize at `url` with `token`: the runtime's answer status (200 when it accepts the token). */
export async function callServer(url: string, token: string): Promise<{ status: number; challenge: string | null }> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "oauth-test", version: "1" } },
    }),
  });
  await response.text();
  return { status: response.status, challenge: response.headers.get("www-authenticate") };
}

/**
 * Makes the server's active version declare step-up scopes on its tools (as a compiled version
 * with `scopes` on its tools would), by editing the stored manifest.
 */
export async function declareScopes(api: Api, slug: string, scopesByTool: Record<string, string[]>): Promise<void> {
  const db = api.stores.db;
  const version = await db
    .selectFrom("servers as s")
    .innerJoin("server_versions as v", "v.id", "s.active_version_id")
    .select(["v.id", "v.manifest"])
    .where("s.slug", "=", slug)
    .executeTakeFirstOrThrow();
  const manifest: Manifest = {
    ...version.manifest,
    tools: version.manifest.tools.map((tool) => ({ ...tool, scopes: scopesByTool[tool.name] ?? [] })),
  };
  await db
    .updateTable("server_versions")
    .set({ manifest: JSON.stringify(manifest) })
    .where("id", "=", version.id)
    .execute();
}
