import type { EgressPolicy, SandboxSupervisor } from "@isola/sandbox";
import { type Config, OAUTH_GRANT_REVOKED, type ServerLogs } from "@isola/schema";
import type { FastifyPluginAsync } from "fastify";
import type { JWTVerifyGetKey } from "jose";
import { NO_TRACING, type Tracing } from "../observe/tracing.ts";
import type { Stores } from "../stores/open-stores.ts";
import { type UsageEvent, UsageRecorder } from "../usage/recorder.ts";
import { issuerKeys, JwtVerifier } from "./auth/jwt.ts";
import type { ApiKeyIdentity } from "./context.ts";
import { Limits } from "./limits.ts";
import { runtimePlugin } from "./plugin.ts";
import { type RelayLog, SessionRelay } from "./relay.ts";
import { SecretsCache } from "./secrets-cache.ts";
import { ServerDirectory } from "./server-directory.ts";
import { SessionStore } from "./session-store.ts";

export interface RuntimeRoleOptions {
  config: Config;
  stores: Stores;
  sandbox: Pick<SandboxSupervisor, "call" | "versionChanged">;
  logs: ServerLogs;
  secretsFor(serverId: string): Promise<Record<string, string>>;
  verifyApiKey(key: string): Promise<ApiKeyIdentity | null>;
  /** The OAuth issuer's signing keys; by default fetched from `${issuer}/jwks` (and refetched on an unknown kid). */
  jwks?: JWTVerifyGetKey;
  /** Whether an OAuth grant still stands (the authorization server's storage). */
  grantIsLive(grantId: string): Promise<boolean>;
  mcpDomain?: string;
  egress?: Pick<EgressPolicy, "allowPrivateNetworks" | "allowHttpHosts">;
  /** How often usage is flushed to Postgres. */
  usageFlushMs?: number;
  /** Sees every tool call as usage records it (this node's metrics). */
  onUsage?(event: UsageEvent): void;
  /** Spans of MCP requests; off by default. */
  tracing?: Tracing;
  /** The node's logger, for what reaches this node from another one (a relayed answer or cancel). */
  log?: RelayLog;
}

/** The runtime role, assembled: its plugin and what must be closed (after the server stopped). */
export async function createRuntimeRole(
  options: RuntimeRoleOptions,
): Promise<{ plugin: FastifyPluginAsync; usage: UsageRecorder; limits: Limits; close(): Promise<void> }> {
  const { config, stores } = options;
  const directory = new ServerDirectory(stores.db, stores.bus);
  await directory.start();
  const secrets = new SecretsCache(options.secretsFor);
  directory.onChange((change) => {
    if (change.kind === "secrets" || change.kind === "deleted") secrets.forget(change.serverId);
    // A new version: the old one's isolates are released once idle, and a quarantine is lifted.
    if (change.kind === "deployed") options.sandbox.versionChanged(change.serverId);
  });
  const relay = new SessionRelay(stores.bus, options.log);
  await relay.start();
  const usage = new UsageRecorder(stores.db, options.onUsage ? { onRecord: options.onUsage } : {});
  usage.start(options.usageFlushMs);
  const limits = new Limits(stores.bus);
  const issuer = `${config.publicUrl}/oauth`;
  const verifyJwt = new JwtVerifier({
    issuer,
    keys: options.jwks ?? issuerKeys(new URL(`${issuer}/jwks`)),
    grantIsLive: options.grantIsLive,
  });
  // A node that cannot subscribe (Redis down at start) still refuses revoked grants' new tokens,
  // and their remembered ones within a minute.
  const unsubscribeRevocations = await stores.bus
    .subscribe(OAUTH_GRANT_REVOKED, (grantId) => verifyJwt.forgetGrant(grantId))
    .catch(() => async () => {});
  const plugin = runtimePlugin(
    {
      config,
      bus: stores.bus,
      directory,
      sessions: new SessionStore(stores.bus),
      relay,
      sandbox: options.sandbox,
      usage,
      limits,
      logs: options.logs,
      secretsFor: (serverId) => secrets.get(serverId),
      verifyApiKey: options.verifyApiKey,
      verifyJwt,
      issuer,
      egress: options.egress ?? {},
      tracing: options.tracing ?? NO_TRACING,
    },
    options.mcpDomain ? { mcpDomain: options.mcpDomain } : {},
  );
  return {
    plugin,
    usage,
    limits,
    close: async () => {
      // Usage first: nothing accepted is lost on a graceful shutdown.
      await usage.stop();
      await relay.close();
      await unsubscribeRevocations().catch(() => {});
      await directory.close();
      await limits.close();
    },
  };
}
