import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { ControlDeps } from "../deps.ts";
import type { RouteContext } from "../http/route.ts";
import { instanceBuildPolicy } from "./build-actions.ts";
import { buildRoutes } from "./build-routes.ts";
import { buildEffects } from "./effects.ts";
import { createAnthropicModel, readGuestApi } from "./model/index.ts";
import { BuildRunner } from "./runner.ts";

export interface BuildsOptions {
  /** Builds this node runs at once (default 2). */
  concurrency?: number;
  /** Builds one org runs at once across the instance (default 2). */
  perOrg?: number;
  leaseMs?: number;
}

/**
 * The build pipeline on a control node: its routes, and (with the worker role) a runner that
 * claims queued and confirmed builds, started when the app is ready; when it closes, the
 * builds in progress go back to the queue.
 */
export function mountBuilds(
  app: FastifyInstance,
  context: RouteContext,
  deps: ControlDeps,
  options: BuildsOptions = {},
) {
  const { config } = deps;
  const guestApi = readGuestApi();
  const modelFor = async () =>
    createAnthropicModel({ apiKey: config.anthropicApiKey, models: config.buildModels, guestApi });
  buildRoutes(app, context, deps, instanceBuildPolicy(config));
  // The worker role runs builds; a control node without it only queues them.
  if (!config.roles.includes("worker")) return;
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
}
