import type { FastifyBaseLogger, FastifyRequest } from "fastify";

/**
 * What the request log keeps of a web page's URL. Some pages carry a credential in it: the
 * password reset link's `?token=` and an invitation link's path (`/invitations/<token>`). The
 * log must not become a store of working links, so a page's query string is never logged (its
 * parameters are page state, not worth the risk) and an invitation's path segment is masked.
 */
export function loggedUrl(url: string): string {
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  const masked = path.replace(/^\/invitations\/[^/]+/, "/invitations/[token]");
  return query === -1 ? masked : `${masked}?[query]`;
}

/** Fastify's own request serializer (lib/logger-pino.js), with the URL as above. */
function requestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: loggedUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** For `setChildLoggerFactory`: each request's logger serializes its request as above. */
export function redactingChildLogger(
  logger: FastifyBaseLogger,
  bindings: Record<string, unknown>,
  options: { serializers?: Record<string, (value: never) => unknown> },
): FastifyBaseLogger {
  return logger.child(bindings, { ...options, serializers: { ...options.serializers, req: requestForLog } });
}
