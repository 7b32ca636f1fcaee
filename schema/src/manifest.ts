import { z } from "zod";

/**
 * The manifest of a compiled server: everything `tools/list`, `resources/list` and
 * `prompts/list` answer, produced at build time from the tenant's zod definitions, stored
 * with the version. The runtime serves lists from it without touching an isolate.
 */

/** MCP tool names: 1-128 characters of A-Z a-z 0-9 _ . - (spec 2025-11-25). */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** Secret names as environment variables are written. */
export const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** An egress host pattern: a DNS name, optionally `*.` + a suffix. */
export const EGRESS_HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
/** The scope every access token for an Isola server carries: it admits the caller to the endpoint. */
export const BASE_SCOPE = "mcp:tools";
/**
 * A step-up scope a tool may require: an RFC 6749 §3.3 scope-token narrowed to lower-case
 * letters, digits and `_ . : -`, starting with a letter, so that it reads the same in a
 * consent screen, a token's `scope` claim and a `WWW-Authenticate` challenge.
 */
export const TOOL_SCOPE = /^[a-z][a-z0-9_.:-]{0,63}$/;
/** OpenID Connect's scopes: the authorization server grants them for itself, a tool cannot require them. */
export const OIDC_SCOPES: readonly string[] = ["openid", "offline_access", "profile", "email", "address", "phone"];
/** A tool requires at most this many scopes; a server declares at most MAX_SERVER_SCOPES in all. */
export const MAX_TOOL_SCOPES = 5;
export const MAX_SERVER_SCOPES = 32;

/** Whether a tool may require `scope`: the syntax, and neither `mcp:` (Isola's own) nor an OpenID scope. */
export function isToolScope(scope: string): boolean {
  return TOOL_SCOPE.test(scope) && !scope.startsWith("mcp:") && !OIDC_SCOPES.includes(scope);
}

const jsonSchemaObject = z.record(z.string(), z.unknown());

export const toolAnnotations = z
  .object({
    title: z.string().optional(),
    readOnlyHint: z.boolean().optional(),
    destructiveHint: z.boolean().optional(),
    idempotentHint: z.boolean().optional(),
    openWorldHint: z.boolean().optional(),
  })
  .strict();

export const manifestTool = z.object({
  name: z.string().regex(TOOL_NAME),
  title: z.string().optional(),
  description: z.string(),
  /** JSON Schema 2020-12, always `type: "object"`. */
  inputSchema: jsonSchemaObject,
  outputSchema: jsonSchemaObject.optional(),
  annotations: toolAnnotations.optional(),
  /** Scopes an OAuth caller's token must carry to call this tool, besides `mcp:tools`. */
  scopes: z.array(z.string().regex(TOOL_SCOPE).refine(isToolScope)).max(MAX_TOOL_SCOPES).optional(),
});

export const manifestResource = z.object({
  /** The key in `resources: {...}`. */
  key: z.string(),
  /** Set for a static resource. */
  uri: z.string().optional(),
  /** Set for a template (RFC 6570 level 1: `{name}`). */
  uriTemplate: z.string().optional(),
  name: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  mimeType: z.string().optional(),
});

export const manifestPrompt = z.object({
  name: z.string().regex(TOOL_NAME),
  title: z.string().optional(),
  description: z.string().optional(),
  arguments: z.array(z.object({ name: z.string(), description: z.string().optional(), required: z.boolean() })),
});

export const manifest = z.object({
  name: z.string().min(1).max(128),
  version: z.string().optional(),
  description: z.string().optional(),
  tools: z.array(manifestTool),
  resources: z.array(manifestResource),
  prompts: z.array(manifestPrompt),
  /** Names of the secrets the code reads through ctx.env. */
  secrets: z.array(z.string().regex(SECRET_NAME)),
  /** Hosts the code may fetch, once the owner approves them. */
  egress: z.array(z.string().regex(EGRESS_HOST)),
});

export type ToolAnnotations = z.infer<typeof toolAnnotations>;
export type ManifestTool = z.infer<typeof manifestTool>;
export type ManifestResource = z.infer<typeof manifestResource>;
export type ManifestPrompt = z.infer<typeof manifestPrompt>;
export type Manifest = z.infer<typeof manifest>;

/**
 * Every scope the server's tools require, sorted and unique: what its authorization server
 * may grant besides `mcp:tools`, and what its protected resource metadata lists. Never
 * `mcp:tools` or an OpenID scope, even from a manifest the compiler did not check.
 */
export function declaredScopes(manifest: Pick<Manifest, "tools">): string[] {
  return [...new Set(manifest.tools.flatMap((tool) => tool.scopes ?? []))].filter(isToolScope).sort();
}

/** A compiled server version: immutable once built. */
export interface Artifact {
  /** The tenant's code bundled into one script (the guest runtime is not included). */
  bundle: string;
  manifest: Manifest;
  /** sha256 of the bundle, hex: identifies the code in caches. */
  hash: string;
  compilerVersion: string;
}
