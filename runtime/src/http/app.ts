import type { TrustProxy } from "@isola/schema";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from "fastify";
import { REQUEST_ID_HEADER, requestIdOf } from "../observe/request-id.ts";
import type { Stores } from "../stores/open-stores.ts";
import { healthRoutes, type ReadinessDetails } from "./health.ts";
import { type MetricsEndpoint, metricsRoute } from "./metrics-route.ts";
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
  /** This node's metrics and the token that reads them; absent: metrics off (/metrics is a 404). */
  metrics?: MetricsEndpoint | undefined;
  /** The proxies whose X-Forwarded-For names the client (ISOLA_TRUST_PROXY); unset: none. */
  trustProxy?: TrustProxy | undefined;
}

/** One Fastify instance: health and metrics routes plus the mounted roles, each encapsulated. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // Every request's id: a well-formed X-Request-Id honoured, else a new one; echoed below and in every log line.
    requestIdHeader: false,
    genReqId: (raw) => requestIdOf(raw.headers[REQUEST_ID_HEADER]),
    return503OnClosing: true,
    frameworkErrors: urlErrorHandler(options.urlErrors ?? []),
    // request.ip is the client's address behind the proxies named here, else the socket's.
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
  });
  // On the raw response, so that streamed (hijacked) answers carry it too.
  app.addHook("onRequest", async (request, reply) => {
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
  });
  // While draining (the listener is closed), tell keep-alive clients to hang up after this
  // response: otherwise an idle connection holds close() open until its keep-alive timeout.
  app.addHook("onSend", async (_request, reply) => {
    if (!app.server.listening) reply.header("connection", "close");
  });
  const metrics = options.metrics?.metrics;
  // Every response of every role; by method and status class only (a URL label would be unbounded).
  if (metrics) {
    app.addHook("onResponse", async (request, reply) => {
      metrics.httpResponse(request.method, reply.statusCode, reply.elapsedTime / 1000);
    });
  }
  await app.register(healthRoutes, {
    stores: options.stores,
    ...(options.readiness ? { details: options.readiness } : {}),
  });
  await app.register(metricsRoute, { endpoint: options.metrics });
  for (const plugin of options.plugins) await app.register(plugin);
  return app;
}
