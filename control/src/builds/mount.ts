import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyPluginAsync } from "fastify";
import type { ControlDeps } from "../deps.ts";
import { createOrgSecrets, ORG_MODEL_KEY } from "../secrets/org-secrets.ts";
import { buildEffects } from "./effects.ts";
import { createAnthropicModel, readGuestApi } from "./model/index.ts";
import { BuildRunner, type RunnerOptions } from "./runner.ts";

export interface BuildsOptions {
  /** Builds this node runs at once (default 2). */
  concurrency?: number;
  /** Builds one org runs at once across the instance (default 2). */
  perOrg?: number;
  leaseMs?: number;
  /** Each build this node ends, with the duration of its last run (the composition root's metrics). */
  onFinished?: RunnerOptions["onFinished"];
}

/**
 * The worker role: a runner that claims queued and confirmed builds (whichever node queued them),
 * started when the app is ready; when the app closes, the builds in progress go back to the
 * queue. The routes that queue builds are the control role's (build-routes.ts).
 */
export function buildWorkerPlugin(deps: ControlDeps, options: BuildsOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const { config } = deps;
    const guestApi = readGuestApi();
    // The org's own key (PUT /orgs/{org}/model-key) before the instance's.
    const secrets = createOrgSecrets({ db: deps.db, key: deps.secretKey });
    const modelFor = async (orgId: string) =>
      createAnthropicModel({
        apiKey: (await secrets.get(orgId, ORG_MODEL_KEY)) ?? config.anthropicApiKey,
        models: config.buildModels,
        guestApi,
      });
    const runner = new BuildRunner({
      db: deps.db,
      bus: deps.bus,
      log: app.log,
      effects: buildEffects(deps, modelFor, app.log),
      node: `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
      ...options,
    });
    app.addHook("onReady", () => runner.start());
    app.addHook("onClose", () => runner.stop());
  };
}
