import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { NodeMetrics } from "../observe/metrics.ts";

/** Metrics on: this node's registry and the token a scraper must present (ISOLA_METRICS_TOKEN). */
export interface MetricsEndpoint {
  metrics: NodeMetrics;
  token: string;
}

export interface MetricsRouteOptions {
  /** Absent: metrics are off and /metrics answers 404. */
  endpoint?: MetricsEndpoint | undefined;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Whether an Authorization header carries exactly `Bearer <token>`. Both sides are hashed
 * first, so the comparison takes the same time whatever the length or content of the guess.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(header ?? "")?.[1];
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(token));
}

/** GET /metrics: the Prometheus text exposition format, to the holder of the metrics token only. */
export const metricsRoute: FastifyPluginAsync<MetricsRouteOptions> = async (app, { endpoint }) => {
  // A scraper calls every few seconds: its requests are not worth a log line each.
  app.get("/metrics", { logLevel: "warn" }, async (request, reply) => {
    if (!endpoint) {
      return reply
        .code(404)
        .type("text/plain; charset=utf-8")
        .send("metrics are off: ISOLA_METRICS_TOKEN is not set\n");
    }
    if (!bearerMatches(request.headers.authorization, endpoint.token)) {
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="isola-metrics"')
        .type("text/plain; charset=utf-8")
        .send("the metrics token is required: Authorization: Bearer <ISOLA_METRICS_TOKEN>\n");
    }
    const body = await endpoint.metrics.exposition();
    return reply.header("cache-control", "no-store").type(endpoint.metrics.contentType).send(body);
  });
};
