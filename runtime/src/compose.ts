import {
  apiUrlErrors,
  buildWorkerPlugin,
  type ControlDeps,
  controlPlugin,
  createOrgSecrets,
  createSecretVault,
  grantIsLive,
  isolaMcpPlugin,
  loadSecretKey,
  ORG_MODEL_KEY,
  oauthPlugin,
  verifyApiKey,
} from "@isola/control";
import { compileServer, SandboxSupervisor } from "@isola/sandbox";
import { type Config, ServerLogs } from "@isola/schema";
import { webPlugin } from "@isola/web";
import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { type ReadinessDetails, runCheck } from "./http/health.ts";
import type { MetricsEndpoint } from "./http/metrics-route.ts";
import type { UrlErrorAnswer } from "./http/url-errors.ts";
import { platformLlm } from "./llm/platform-llm.ts";
import { issuerKeys, JwtVerifier } from "./mcp/auth/jwt.ts";
import { mcpUrlErrors } from "./mcp/plugin.ts";
import { createRuntimeRole } from "./mcp/role.ts";
import { NodeMetrics } from "./observe/metrics.ts";
import { startTracing } from "./observe/tracing.ts";
import type { Composition } from "./process/start.ts";
import type { Stores } from "./stores/open-stores.ts";

/**
 * The composition root: builds what ISOLA_ROLES asks for from the stores, once. The startup
 * log lists what is mounted.
 */
export async function composeRoles(config: Config, stores: Stores, logger: Logger): Promise<Composition> {
  const roles = new Set(config.roles);
  // The web app talks to control only over its HTTP API: in this process (inject), or elsewhere.
  if (roles.has("web") && !roles.has("control") && !config.controlUrl) {
    throw new Error("the web role needs the control role on the same node, or ISOLA_CONTROL_URL");
  }
  const web = roles.has("web")
    ? await webPlugin({
        publicUrl: config.publicUrl,
        controlUrl: roles.has("control") ? undefined : config.controlUrl,
        log: { info: (message) => logger.info(message), warn: (message) => logger.warn(message) },
      })
    : undefined;
  // Off unless ISOLA_METRICS_TOKEN is set: then every node, whatever its roles, describes itself.
  const endpoint: MetricsEndpoint | undefined = config.metricsToken
    ? { metrics: new NodeMetrics(config.roles), token: config.metricsToken }
    : undefined;
  const metrics = endpoint?.metrics;
  metrics?.watch({
    // Short: a scrape must not wait on a Bus that is away (its own /readyz check allows 2 s).
    busUp: async () => (await runCheck(stores.bus.kind, () => stores.bus.ping(), 500)).ok,
  });
  const needsSandbox = roles.has("control") || roles.has("runtime") || roles.has("worker");
  if (!needsSandbox) {
    return {
      plugins: web ? [web] : [],
      mounted: web ? ["web"] : [],
      ...(endpoint ? { metrics: endpoint } : {}),
      close: async () => {},
    };
  }

  // First, before anything starts: a missing or unsafe key is a startup failure (one fatal line).
  const secretKey = loadSecretKey(config, { warn: (message) => logger.warn(message) });
  const logs = new ServerLogs(stores.bus);
  // Tool code runs only in sandbox shards, supervised from here; the control plane compiles with them.
  const sandbox = new SandboxSupervisor({
    ...(config.sandboxShards ? { shards: config.sandboxShards } : {}),
    loadArtifact: async (_serverId, hash) => {
      // A shard keeps no code of its own: it asks for a stored version's code exactly when it
      // creates an isolate for it because no warm one is pooled, which is what a cold start is.
      metrics?.coldStart();
      const row = await stores.db
        .selectFrom("server_versions")
        .select("bundle")
        .where("hash", "=", hash)
        // Many versions may share one artifact (same code): any of them will do.
        .limit(1)
        .executeTakeFirst();
      if (!row) throw new Error(`no stored version has code ${hash.slice(0, 12)}`);
      return row.bundle;
    },
    onEvent: (event) => {
      metrics?.sandboxEvent(event);
      logger[event.type === "shard-start" ? "debug" : "warn"]({ event }, `sandbox ${event.type}`);
    },
    onServerLog: (serverId, level, message, data) =>
      logs.write(serverId, { level, source: "code", message, ...(data === undefined ? {} : { data }) }),
    // ctx.llm; the SDK reads ANTHROPIC_BASE_URL.
    llm: platformLlm({
      db: stores.db,
      model: config.llmModel,
      instanceKey: config.anthropicApiKey,
      // The org's own key (PUT /orgs/{org}/model-key), else the server's ANTHROPIC_API_KEY secret.
      orgKey: async (orgId, serverId) =>
        (await createOrgSecrets({ db: stores.db, key: secretKey }).get(orgId, ORG_MODEL_KEY)) ??
        (await createSecretVault({ db: stores.db, key: secretKey }).envFor(serverId)).ANTHROPIC_API_KEY,
    }),
  });
  await sandbox.start();
  metrics?.watch({
    sandbox: () => {
      const pools = sandbox.shards().map((shard) => shard.pool);
      const sum = (read: (pool: NonNullable<(typeof pools)[number]>) => number) =>
        pools.reduce((total, pool) => total + (pool ? read(pool) : 0), 0);
      return {
        shards: pools.length,
        isolates: sum((pool) => pool.isolates),
        heapBytes: sum((pool) => pool.heapBytes),
        heapBudgetBytes: sum((pool) => pool.maxHeapBytes),
      };
    },
  });

  const plugins: FastifyPluginAsync[] = [];
  const mounted: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const readiness: ReadinessDetails = {};
  const urlErrors: UrlErrorAnswer[] = [];
  const controlDeps: ControlDeps = {
    db: stores.db,
    bus: stores.bus,
    config,
    secretKey,
    compile: (files, declarative) =>
      compileServer(files, { describe: (bundle) => sandbox.describe(bundle) }, declarative),
    trial: (bundle, call) =>
      sandbox.trial(bundle, {
        target: call.tool,
        args: call.args,
        env: call.env,
        egress: { allowedHosts: call.egressHosts, allowPrivateNetworks: config.egressAllowPrivate },
        // A smoke call must answer quickly: a build waits for it.
        limits: { wallTimeMs: 15_000 },
      }),
  };
  if (roles.has("control")) {
    // The REST API, the OAuth authorization server that MCP clients of `oauth` servers use, and
    // Isola's own MCP server (/_isola/mcp), which takes that server's tokens (checked as the runtime checks them).
    const issuer = `${config.publicUrl}/oauth`;
    const accessTokens = new JwtVerifier({
      issuer,
      keys: issuerKeys(new URL(`${issuer}/jwks`)),
      grantIsLive: (grantId) => grantIsLive(stores.db, grantId),
    });
    plugins.push(controlPlugin(controlDeps), oauthPlugin(controlDeps), isolaMcpPlugin(controlDeps, { accessTokens }));
    mounted.push("control");
    urlErrors.push(apiUrlErrors);
  }
  if (roles.has("worker")) {
    // Runs the builds any control node queued: plan, code, check, version, deploy.
    plugins.push(
      buildWorkerPlugin(
        controlDeps,
        metrics ? { onFinished: (outcome, ms) => metrics.buildFinished(outcome, ms) } : {},
      ),
    );
    mounted.push("worker");
  }
  if (roles.has("runtime")) {
    const vault = createSecretVault({ db: stores.db, key: secretKey });
    // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then a span per MCP request (no OTel package loads otherwise).
    const tracing = await startTracing(
      config.otlp && {
        ...config.otlp,
        attributes: { "isola.roles": config.roles.join(",") },
        onExportReport: ({ level, message, ...traceExport }) => logger[level]({ traceExport }, message),
      },
    );
    const runtime = await createRuntimeRole({
      config,
      stores,
      sandbox,
      logs,
      tracing,
      log: logger,
      secretsFor: (serverId) => vault.envFor(serverId),
      verifyApiKey: (key) => verifyApiKey(stores.db, key),
      grantIsLive: (grantId) => grantIsLive(stores.db, grantId),
      ...(config.mcpDomain ? { mcpDomain: config.mcpDomain } : {}),
      egress: { allowPrivateNetworks: config.egressAllowPrivate },
      ...(metrics ? { onUsage: (event) => metrics.toolCall(event.slug, event.outcome, event.durationMs) } : {}),
    });
    metrics?.watch({ limitsDegraded: () => runtime.limits.status().degraded });
    plugins.push(runtime.plugin);
    mounted.push("runtime");
    urlErrors.push(mcpUrlErrors);
    readiness.limits = () => runtime.limits.status();
    closers.push(runtime.close, () => tracing.shutdown());
  }
  if (web) {
    plugins.push(web);
    mounted.push("web");
  }
  return {
    plugins,
    mounted,
    readiness,
    urlErrors,
    ...(endpoint ? { metrics: endpoint } : {}),
    close: async () => {
      for (const close of closers) await close();
      await sandbox.close();
    },
  };
}
