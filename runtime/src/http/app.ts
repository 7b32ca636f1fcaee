import type { Config } from "@isola/schema";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import type { Stores } from "../stores/open-stores.ts";
import { healthRoutes } from "./health.ts";

/** What a role (runtime, control, web, worker) gets when it is mounted. */
export interface RoleContext {
  config: Config;
  stores: Stores;
}

export type RolePlugin = FastifyPluginAsync<RoleContext>;

export interface AppOptions {
  config: Config;
  stores: Stores;
  logger: FastifyBaseLogger;
  /** The plugins to mount, already chosen from ISOLA_ROLES by the composition root. */
  plugins: RolePlugin[];
}

/** One Fastify instance: health routes plus the mounted roles, each encapsulated. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    return503OnClosing: true,
  });
  // While draining (the listener is closed), tell keep-alive clients to hang up after this
  // response: otherwise an idle connection holds close() open until its keep-alive timeout.
  app.addHook("onSend", async (_request, reply) => {
    if (!app.server.listening) reply.header("connection", "close");
  });
  const { stores, config } = options;
  await app.register(healthRoutes, { stores });
  for (const plugin of options.plugins) await app.register(plugin, { config, stores });
  return app;
}
