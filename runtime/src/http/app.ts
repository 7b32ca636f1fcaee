import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import type { Stores } from "../stores/open-stores.ts";
import { healthRoutes, type ReadinessDetails } from "./health.ts";
import { type UrlErrorAnswer, urlErrorHandler } from "./url-errors.ts";

export interface AppOptions {
  stores: Stores;
  logger: FastifyBaseLogger;
  /** The plugins to mount, already built by the composition root for the roles in ISOLA_ROLES. */
  plugins: FastifyPluginAsync[];
  /** What the roles report in /readyz `details`. */
  readiness?: ReadinessDetails | undefined;
  /** How each role answers a URL the router cannot match (in its own error format). */
  urlErrors?: UrlErrorAnswer[] | undefined;
}

/** One Fastify instance: health routes plus the mounted roles, each encapsulated. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    return503OnClosing: true,
    frameworkErrors: urlErrorHandler(options.urlErrors ?? []),
  });
  // While draining (the listener is closed), tell keep-alive clients to hang up after this
  // response: otherwise an idle connection holds close() open until its keep-alive timeout.
  app.addHook("onSend", async (_request, reply) => {
    if (!app.server.listening) reply.header("connection", "close");
  });
  await app.register(healthRoutes, {
    stores: options.stores,
    ...(options.readiness ? { details: options.readiness } : {}),
  });
  for (const plugin of options.plugins) await app.register(plugin);
  return app;
}
