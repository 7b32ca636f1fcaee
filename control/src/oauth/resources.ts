import {
  type AccessPolicy,
  type AuthMode,
  BASE_SCOPE,
  type Database,
  declaredScopes,
  type Manifest,
  SERVER_SLUG,
} from "@isola/schema";
import type { Kysely } from "kysely";

/**
 * Resource indicators (RFC 8707): a token is for exactly one server, named by its MCP URL as the
 * runtime forms it (runtime/src/mcp/plugin.ts): path-routed `${origin of PUBLIC_URL}/<slug>/mcp`,
 * host-routed `<scheme>://<slug>.<ISOLA_MCP_DOMAIN>[:port]/mcp`, or `<scheme>://<custom domain>[:port]/mcp`,
 * the scheme always PUBLIC_URL's. The URL must be written exactly so (it becomes the token's
 * `aud`, which the runtime compares as a string).
 */

export type ResourceRef = { by: "slug"; slug: string } | { by: "domain"; host: string };

export interface ResourceUrlOptions {
  publicUrl: string;
  mcpDomain?: string | undefined;
}

/** What a resource indicator names, or why it names no server. Pure. */
export function parseResource(
  resource: string,
  options: ResourceUrlOptions,
): { ok: true; ref: ResourceRef } | { ok: false; reason: string } {
  const url = URL.parse(resource);
  const publicUrl = new URL(options.publicUrl);
  if (!url || url.href !== resource) {
    return { ok: false, reason: "the resource is not an absolute URL written in its canonical form" };
  }
  if (url.protocol !== publicUrl.protocol || url.username || url.password || url.search || url.hash) {
    return {
      ok: false,
      reason: `the resource must be a ${publicUrl.protocol}// URL without credentials, query or fragment`,
    };
  }
  if (url.origin === publicUrl.origin) {
    const slug = /^\/([^/]+)\/mcp$/.exec(url.pathname)?.[1];
    if (slug && SERVER_SLUG.test(slug)) return { ok: true, ref: { by: "slug", slug } };
    return { ok: false, reason: `a server's resource on this host is ${publicUrl.origin}/<slug>/mcp` };
  }
  if (url.pathname !== "/mcp")
    return { ok: false, reason: "a server's resource on its own host is https://<host>/mcp" };
  const domain = options.mcpDomain?.toLowerCase();
  if (domain && url.hostname.endsWith(`.${domain}`)) {
    const slug = url.hostname.slice(0, -domain.length - 1);
    if (SERVER_SLUG.test(slug)) return { ok: true, ref: { by: "slug", slug } };
    return { ok: false, reason: `${url.hostname} names no server` };
  }
  return { ok: true, ref: { by: "domain", host: url.hostname } };
}

/** A server as the authorization server sees it. */
export interface ResourceServerRecord {
  id: string;
  slug: string;
  name: string;
  orgId: string;
  authMode: AuthMode;
  accessPolicy: AccessPolicy;
  /** `mcp:tools` and every scope the active version's tools require. */
  scopes: string[];
  /** The tools that require each step-up scope (for the consent page). */
  toolsByScope: Record<string, string[]>;
}

/** The scopes a server grants: the base scope, then those its tools declare for step-up. */
export function serverScopes(manifest: Pick<Manifest, "tools"> | null): string[] {
  return [BASE_SCOPE, ...(manifest ? declaredScopes(manifest) : [])];
}

/** Which tools require each scope. Pure. */
export function toolsByScope(manifest: Pick<Manifest, "tools"> | null): Record<string, string[]> {
  const byScope: Record<string, string[]> = {};
  for (const tool of manifest?.tools ?? []) {
    for (const scope of tool.scopes ?? []) byScope[scope] = [...(byScope[scope] ?? []), tool.name];
  }
  return byScope;
}

export async function findResourceServer(db: Kysely<Database>, ref: ResourceRef): Promise<ResourceServerRecord | null> {
  const query = db
    .selectFrom("servers as s")
    .leftJoin("server_versions as v", "v.id", "s.active_version_id")
    .select(["s.id", "s.slug", "s.name", "s.org_id", "s.auth_mode", "s.access_policy", "v.manifest"]);
  const row = await (ref.by === "slug"
    ? query.where("s.slug", "=", ref.slug)
    : query.where("s.custom_domain", "=", ref.host)
  ).executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    orgId: row.org_id,
    authMode: row.auth_mode,
    accessPolicy: row.access_policy,
    scopes: serverScopes(row.manifest),
    toolsByScope: toolsByScope(row.manifest),
  };
}

/** Where Isola's own MCP server is (control/src/mcp-server/), below PUBLIC_URL's origin. */
export const ISOLA_MCP_PATH = "/_isola/mcp";

/** Isola's own MCP server's resource URL: its tokens' audience. */
export const isolaMcpResource = (publicUrl: string) => `${new URL(publicUrl).origin}${ISOLA_MCP_PATH}`;

/**
 * Isola's own MCP server as the authorization server sees it: every account may authorize a
 * client for it (the `instance` policy; its tools then check the account's roles, as the REST API
 * does), with `mcp:tools` only. It belongs to no org: the nil UUID names none.
 */
export const ISOLA_RESOURCE: ResourceServerRecord = {
  id: "isola",
  slug: "_isola",
  name: "Isola",
  orgId: "00000000-0000-0000-0000-000000000000",
  authMode: "oauth",
  accessPolicy: { kind: "instance" },
  scopes: [BASE_SCOPE],
  toolsByScope: {},
};

/** The server an indicator names, when it exists and is OAuth-protected; else why not. */
export async function resolveResource(
  db: Kysely<Database>,
  resource: string,
  options: ResourceUrlOptions,
): Promise<{ ok: true; server: ResourceServerRecord } | { ok: false; reason: string }> {
  if (resource === isolaMcpResource(options.publicUrl)) return { ok: true, server: ISOLA_RESOURCE };
  const parsed = parseResource(resource, options);
  if (!parsed.ok) return parsed;
  const server = await findResourceServer(db, parsed.ref);
  if (!server) return { ok: false, reason: `there is no server at ${resource}` };
  if (server.authMode !== "oauth") return { ok: false, reason: `${server.slug} does not take OAuth access tokens` };
  return { ok: true, server };
}
