import { z } from "zod";
import { compileDiagnostic } from "../compile.ts";
import { AUTH_MODES, SERVER_STATUSES } from "../db/tables.ts";
import { declarativeServer } from "../declarative.ts";
import { EGRESS_HOST, manifest } from "../manifest.ts";

/**
 * Slugs name a server in URLs (https://HOST/<slug>/mcp, https://<slug>.<domain>/mcp), so they
 * are DNS labels: lowercase letters, digits and inner hyphens, 3-40 characters, and not a
 * word the product's own routes use.
 */
export const SERVER_SLUG = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

export const RESERVED_SLUGS = new Set([
  "api",
  "oauth",
  "well-known",
  "app",
  "apps",
  "admin",
  "auth",
  "login",
  "logout",
  "signin",
  "signup",
  "sign-in",
  "sign-up",
  "register",
  "settings",
  "account",
  "accounts",
  "billing",
  "servers",
  "server",
  "new",
  "dashboard",
  "docs",
  "help",
  "support",
  "status",
  "static",
  "assets",
  "public",
  "healthz",
  "readyz",
  "metrics",
  "mcp",
  "sse",
  "messages",
  "isola",
  "www",
  "mail",
  "orgs",
  "org",
  "me",
  "invitations",
  "invite",
  "tokens",
  "keys",
  "templates",
  "builds",
  "consent",
  "interaction",
  "openapi",
  "favicon",
  "robots",
  "sitemap",
  "root",
  "system",
  "internal",
]);

export const serverSlug = z
  .string()
  .regex(SERVER_SLUG, "3-40 characters: lowercase letters, digits and hyphens, starting with a letter")
  .refine((slug) => !slug.includes("--"), "no consecutive hyphens")
  .refine((slug) => !RESERVED_SLUGS.has(slug), "this word is reserved");

export const accessPolicy = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("org") }),
  z.object({ kind: z.literal("instance") }),
  z.object({ kind: z.literal("invite_list"), emails: z.array(z.email()).max(1000) }),
]);

const egressHost = z.string().toLowerCase().regex(EGRESS_HOST, 'a host name like "api.example.com" or "*.example.com"');

/** An exact origin: scheme, host and port, nothing else (and never "*"). */
const origin = z
  .string()
  .refine((value) => {
    const url = URL.parse(value);
    return (
      url !== null && (url.protocol === "https:" || url.protocol === "http:") && url.origin === value.replace(/\/$/, "")
    );
  }, "an origin like https://app.example.com (scheme, host and port only)")
  .transform((value) => value.replace(/\/$/, "").toLowerCase());

const customDomain = z
  .string()
  .toLowerCase()
  .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "a domain name like mcp.example.com");

export const serverView = z.object({
  id: z.uuid(),
  slug: z.string(),
  org: z.string(),
  name: z.string(),
  description: z.string(),
  authMode: z.enum(AUTH_MODES),
  accessPolicy,
  egressApproved: z.array(z.string()),
  status: z.enum(SERVER_STATUSES),
  activeVersion: z.number().int().nullable(),
  /** Browser origins allowed to call the MCP endpoint (exact; never "*"). */
  allowedOrigins: z.array(z.string()),
  /** Also serve the legacy HTTP+SSE transport (GET /<slug>/sse). */
  legacySse: z.boolean(),
  customDomain: z.string().nullable(),
  /** Where MCP clients connect. */
  mcpUrl: z.string(),
  revision: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

export const createServerBody = z
  .object({
    slug: serverSlug,
    name: z.string().trim().min(1).max(100),
    authMode: z.enum(AUTH_MODES),
    description: z.string().max(2000).optional(),
    /** The org's slug; optional when you belong to one org (or use a token, which names one). */
    org: z.string().optional(),
    accessPolicy: accessPolicy.optional(),
    egressApproved: z.array(egressHost).max(100).optional(),
  })
  .strict();

export const updateServerBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(2000),
    authMode: z.enum(AUTH_MODES),
    accessPolicy,
    egressApproved: z.array(egressHost).max(100),
    allowedOrigins: z.array(origin).max(50),
    legacySse: z.boolean(),
    customDomain: customDomain.nullable(),
  })
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, "send at least one field to change");

/** One file as `source`, or several as `files` (path -> content; one must be index.ts). */
/** Code, declarative tools (compiled into the same bundle, no model needed), or both. */
export const createVersionBody = z.union(
  [
    z.object({ source: z.string().min(1), declarative: declarativeServer.optional() }).strict(),
    z.object({ files: z.record(z.string(), z.string()), declarative: declarativeServer.optional() }).strict(),
    z.object({ declarative: declarativeServer }).strict(),
  ],
  // Zod's own message for a union is "Invalid input": say what is expected instead.
  {
    error:
      'send {"source": "<TypeScript>"} (one file) or {"files": {"<path>": "<TypeScript>"}}, and/or {"declarative": {"name", "tools": [...]}}, nothing else',
  },
);

export const versionView = z.object({
  number: z.number().int(),
  hash: z.string(),
  compilerVersion: z.string(),
  manifest,
  active: z.boolean(),
  createdAt: z.iso.datetime(),
  createdBy: z.string().nullable(),
});

export const versionDetail = versionView.extend({
  source: z.record(z.string(), z.string()),
  /** The declarative tools compiled with the source, if any. */
  declarative: declarativeServer.nullable(),
});

/** Version numbers are integer columns (32-bit). */
export const deployBody = z.object({ version: z.number().int().min(1).max(2_147_483_647) }).strict();

export const deploymentView = z.object({
  version: z.number().int(),
  previousVersion: z.number().int().nullable(),
  kind: z.enum(["deploy", "rollback"]),
  actor: z.string(),
  createdAt: z.iso.datetime(),
});

export const compileFailure = z.object({ errors: z.array(compileDiagnostic) });

export type ServerView = z.infer<typeof serverView>;
export type VersionView = z.infer<typeof versionView>;
