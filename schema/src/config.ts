import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { parseTrustProxy, type TrustProxy } from "./trust-proxy.ts";

/**
 * The process configuration: one zod schema over the environment, the single source of
 * the variable names, their defaults and what each expects.
 *
 * Error messages never echo the value of a variable that may hold a secret
 * (DATABASE_URL, REDIS_URL, ISOLA_SECRET_KEY, ISOLA_ADMIN_TOKEN, ANTHROPIC_API_KEY, ISOLA_METRICS_TOKEN).
 */

export const ROLES = ["runtime", "control", "web", "worker"] as const;
export type Role = (typeof ROLES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An unset variable and an empty one mean the same: compose files often write `VAR=`. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

const quoted = (value: unknown) => JSON.stringify(String(value));

const port = z.string().transform((value, ctx) => {
  const n = Number(value);
  if (/^\d+$/.test(value) && n <= 65535) return n;
  ctx.addIssue({ code: "custom", message: `expected an integer from 0 to 65535, got ${quoted(value)}` });
  return z.NEVER;
});

const host = z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, "expected a hostname or IP address to listen on");

const httpUrl = z.string().transform((value, ctx) => {
  const url = URL.parse(value);
  if (url && (url.protocol === "http:" || url.protocol === "https:") && !url.search && !url.hash) {
    return url.href.replace(/\/+$/, "");
  }
  ctx.addIssue({ code: "custom", message: `expected an http(s) URL without query or fragment, got ${quoted(value)}` });
  return z.NEVER;
});

/** An OTLP/HTTP receiver's base URL; not echoed (a hosted collector's URL may carry credentials). */
const otlpEndpoint = z.string().refine(
  (value) => {
    const url = URL.parse(value);
    return url !== null && (url.protocol === "http:" || url.protocol === "https:") && !url.search && !url.hash;
  },
  {
    message:
      "expected the http(s) base URL of an OTLP/HTTP receiver, without query or fragment, such as http://collector:4318 (spans go to <url>/v1/traces)",
  },
);

/** A connection URL with one of the given schemes; the value is never echoed (it may hold a password). */
const connectionUrl = (schemes: string[], example: string) =>
  z.string().refine(
    (value) => {
      const url = URL.parse(value);
      return url !== null && schemes.includes(url.protocol.slice(0, -1));
    },
    { message: `expected a ${schemes.join(":// or ")}:// URL such as ${example}` },
  );

const roles = z.string().transform((value, ctx) => {
  const names = value.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(ROLES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a comma-separated list of ${ROLES.join(", ")}; unknown: ${unknown.map(quoted).join(", ")}`,
    });
    return z.NEVER;
  }
  return [...new Set(names)] as Role[];
});

/** 32 bytes as base64 (standard or url-safe) or as 64 hex characters. */
const secretKey = z.string().transform((value, ctx) => {
  const bytes = /^[0-9a-fA-F]{64}$/.test(value)
    ? Buffer.from(value, "hex")
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)
      ? Buffer.from(value, "base64")
      : undefined;
  if (bytes?.length === 32) return bytes;
  ctx.addIssue({
    code: "custom",
    message: "expected 32 random bytes as base64 or hex (generate one with: openssl rand -base64 32)",
  });
  return z.NEVER;
});

const logLevel = z.enum(LOG_LEVELS, {
  error: (issue) => `expected one of ${LOG_LEVELS.join(", ")}, got ${quoted(issue.input)}`,
});

/** A Messages API model id ("claude-opus-5-5", "claude-sonnet-4-5-20250929"). */
const modelId = z.string().regex(/^[a-z0-9][a-z0-9._:@-]{0,127}$/, "expected a model id such as claude-opus-5-5");

/**
 * The models used when ISOLA_MODEL_PLAN / ISOLA_MODEL_CODE / ISOLA_MODEL_LLM are unset: the current
 * Sonnet plans, the current Opus codes, and the fast Haiku answers ctx.llm, since a tool call waits for it.
 */
export const DEFAULT_MODELS = { plan: "claude-sonnet-5-5", code: "claude-opus-5-5", llm: "claude-haiku-5-5" } as const;

export const environmentSchema = z.object({
  PORT: optional(port),
  HOST: optional(host),
  PUBLIC_URL: optional(httpUrl),
  ISOLA_DATA_DIR: optional(z.string()),
  DATABASE_URL: optional(connectionUrl(["postgres", "postgresql"], "postgres://user:password@host:5432/isola")),
  REDIS_URL: optional(connectionUrl(["redis", "rediss"], "redis://host:6379")),
  // false on fleet nodes: `isola migrate` runs once per deploy (the release command) and `start` only checks.
  ISOLA_MIGRATE_ON_START: optional(
    z.enum(["true", "false"], { error: (issue) => `expected true or false, got ${quoted(issue.input)}` }),
  ),
  ISOLA_ROLES: optional(roles),
  ISOLA_SECRET_KEY: optional(secretKey),
  LOG_LEVEL: optional(logLevel),
  ISOLA_SANDBOX_SHARDS: optional(
    z.string().transform((value, ctx) => {
      const n = Number(value);
      if (/^\d+$/.test(value) && n >= 1 && n <= 64) return n;
      ctx.addIssue({
        code: "custom",
        message: `expected a number of shard processes from 1 to 64, got ${quoted(value)}`,
      });
      return z.NEVER;
    }),
  ),
  ISOLA_ADMIN_EMAIL: optional(z.email({ error: "expected an email address" })),
  ISOLA_ADMIN_TOKEN: optional(
    z.string().regex(/^isola_pat_[A-Za-z0-9_-]{20,}$/, {
      error: "expected isola_pat_ followed by at least 20 letters, digits, - or _",
    }),
  ),
  // Only the path here: the control plane reads and checks the file at boot, so that nodes
  // without the control role need not have it.
  ISOLA_PLANS_FILE: optional(z.string()),
  ISOLA_MCP_DOMAIN: optional(
    z
      .string()
      .toLowerCase()
      .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "expected a domain name such as mcp.example.com"),
  ),
  ISOLA_EGRESS_ALLOW_PRIVATE: optional(
    z.enum(["true", "false"], { error: (issue) => `expected true or false, got ${quoted(issue.input)}` }),
  ),
  // Never echoed in an error: it is a credential.
  ANTHROPIC_API_KEY: optional(z.string().min(1, "expected an API key such as sk-ant-...")),
  ISOLA_MODEL_PLAN: optional(modelId),
  ISOLA_MODEL_CODE: optional(modelId),
  ISOLA_MODEL_LLM: optional(modelId),
  // Only the path, like the plans file: the control role reads and checks it at boot.
  ISOLA_OAUTH_CLIENTS_FILE: optional(z.string()),
  ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK: optional(
    z.enum(["true", "false"], { error: (issue) => `expected true or false, got ${quoted(issue.input)}` }),
  ),
  // Where a web node without the control role reaches the control plane's API.
  ISOLA_CONTROL_URL: optional(httpUrl),
  ISOLA_TRUST_PROXY: optional(
    z.string().transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: "custom", message: parsed.error });
      return z.NEVER;
    }),
  ),
  // Never echoed in an error: it is a credential. Printable, without spaces: it travels in a header.
  ISOLA_METRICS_TOKEN: optional(
    z.string().regex(/^[\x21-\x7e]{32,}$/, {
      error: "expected at least 32 printable characters without spaces (generate one with: openssl rand -hex 32)",
    }),
  ),
  // OpenTelemetry's own variables: traces are exported when the endpoint is set (OTLP over HTTP
  // only; OTEL_EXPORTER_OTLP_HEADERS is read by the exporter itself).
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(otlpEndpoint),
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(
    z.enum(["http/protobuf", "http/json"], {
      error: (issue) => `expected http/protobuf or http/json (grpc is not supported), got ${quoted(issue.input)}`,
    }),
  ),
  OTEL_SERVICE_NAME: optional(z.string().regex(/^[\x21-\x7e]{1,100}$/, "expected a service name without spaces")),
});

/** The variables Isola reads, for documentation and for checking deployment files. */
export const CONFIG_VARIABLES = Object.keys(environmentSchema.shape) as (keyof typeof environmentSchema.shape)[];

export interface Config {
  port: number;
  host: string;
  /** The URL clients use to reach this instance, without a trailing slash. */
  publicUrl: string;
  /** Absolute path of the data directory (embedded database, generated keys). */
  dataDir: string;
  /** Set: PostgreSQL through `pg`. Unset: embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** Set: Redis through ioredis. Unset: an in-process bus (single node only). */
  redisUrl: string | undefined;
  /** true: `start` migrates the database. false: it refuses to start while migrations are pending. */
  migrateOnStart: boolean;
  roles: Role[];
  /** 32 bytes, when configured; otherwise the control plane generates one into the data dir. */
  secretKey: Buffer | undefined;
  logLevel: LogLevel;
  /** Sandbox shard processes; undefined: one per core. */
  sandboxShards: number | undefined;
  /** Headless bootstrap: on an empty database, this owner, an org, and a token whose value is adminToken. */
  adminEmail: string | undefined;
  adminToken: string | undefined;
  /** Absolute path of a JSON array of plans the control plane upserts at boot. */
  plansFile: string | undefined;
  /** Serve servers at <slug>.<mcpDomain>/mcp too (a wildcard DNS record and certificate). */
  mcpDomain: string | undefined;
  /** Operator switch: tool code may fetch private, loopback and link-local addresses (self-hosting on a LAN). */
  egressAllowPrivate: boolean;
  /** Absolute path of a JSON array of OAuth clients (RFC 7591 metadata) registered by the operator. */
  oauthClientsFile: string | undefined;
  /**
   * Test switch: Client ID Metadata Documents may be fetched from loopback addresses (certificate
   * not checked there). Off in production: the library's SSRF protection refuses them.
   */
  oauthCimdAllowLoopback: boolean;
  /** The instance's key for the Anthropic Messages API (builds; ctx.llm). The SDK reads ANTHROPIC_BASE_URL itself. */
  anthropicApiKey: string | undefined;
  /** Which model answers each build step. */
  buildModels: { plan: string; code: string };
  /** The model that answers ctx.llm (ISOLA_MODEL_LLM). */
  llmModel: string;
  /** The control plane the web role calls over HTTP; unset: the control role of the same process. */
  controlUrl: string | undefined;
  /** The proxies whose X-Forwarded-For names the client; undefined: the socket's address is the client's. */
  trustProxy: TrustProxy | undefined;
  /** The bearer token that reads GET /metrics; unset: metrics are off (404). */
  metricsToken: string | undefined;
  /** Where traces go (OTEL_EXPORTER_OTLP_*); undefined: tracing is off and no OTel package loads. */
  otlp: { endpoint: string; protocol: "http/protobuf" | "http/json"; serviceName: string } | undefined;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/**
 * Parses the environment into a Config, or into one human-readable line per bad variable.
 * Pure apart from resolving relative paths (data dir, plans file) against `cwd`.
 */
export function parseConfig(env: Record<string, string | undefined>, cwd = process.cwd()): ConfigResult {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    };
  }
  const e = parsed.data;
  const port = e.PORT ?? 3000;
  const dataDir = e.ISOLA_DATA_DIR ?? "./.isola";
  return {
    ok: true,
    config: {
      port,
      host: e.HOST ?? "127.0.0.1",
      publicUrl: e.PUBLIC_URL ?? `http://localhost:${port}`,
      dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
      databaseUrl: e.DATABASE_URL,
      redisUrl: e.REDIS_URL,
      migrateOnStart: e.ISOLA_MIGRATE_ON_START !== "false",
      roles: e.ISOLA_ROLES ?? ["runtime", "control", "web", "worker"],
      secretKey: e.ISOLA_SECRET_KEY,
      logLevel: e.LOG_LEVEL ?? "info",
      sandboxShards: e.ISOLA_SANDBOX_SHARDS,
      adminEmail: e.ISOLA_ADMIN_EMAIL,
      adminToken: e.ISOLA_ADMIN_TOKEN,
      plansFile: e.ISOLA_PLANS_FILE === undefined ? undefined : resolve(cwd, e.ISOLA_PLANS_FILE),
      mcpDomain: e.ISOLA_MCP_DOMAIN,
      egressAllowPrivate: e.ISOLA_EGRESS_ALLOW_PRIVATE === "true",
      oauthClientsFile: e.ISOLA_OAUTH_CLIENTS_FILE === undefined ? undefined : resolve(cwd, e.ISOLA_OAUTH_CLIENTS_FILE),
      oauthCimdAllowLoopback: e.ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK === "true",
      anthropicApiKey: e.ANTHROPIC_API_KEY,
      buildModels: {
        plan: e.ISOLA_MODEL_PLAN ?? DEFAULT_MODELS.plan,
        code: e.ISOLA_MODEL_CODE ?? DEFAULT_MODELS.code,
      },
      llmModel: e.ISOLA_MODEL_LLM ?? DEFAULT_MODELS.llm,
      controlUrl: e.ISOLA_CONTROL_URL,
      trustProxy: e.ISOLA_TRUST_PROXY,
      metricsToken: e.ISOLA_METRICS_TOKEN,
      otlp: e.OTEL_EXPORTER_OTLP_ENDPOINT
        ? {
            endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
            // The specification's default.
            protocol: e.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
            serviceName: e.OTEL_SERVICE_NAME ?? "isola",
          }
        : undefined,
    },
  };
}
