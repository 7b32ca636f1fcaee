import { fastifySSE } from "@fastify/sse";
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { sessionRef } from "../observe/request-id.ts";
import { refusalKind } from "../observe/tracing.ts";
import { ApiKeyCache } from "./auth/authenticate.ts";
import { protectedResourceMetadata, type ResourceUrls, resourceUrls } from "./auth/protected-resource.ts";
import { supportedScopes } from "./auth/tool-scopes.ts";
import type { RuntimeDeps } from "./context.ts";
import {
  type AccessNote,
  type EndpointContext,
  type EndpointHandler,
  EndpointRefusal,
  handleDelete,
  handleGet,
  handlePost,
} from "./endpoint.ts";
import { LegacySse, STREAM_ROUTE_SSE } from "./legacy-sse.ts";
import { toolLabel } from "./methods/tools.ts";
import { corsHeaders, preflight } from "./protocol/cors.ts";
import { errorResponse, JSONRPC_ERRORS } from "./protocol/jsonrpc.ts";
import type { ServerRecord } from "./server-directory.ts";

/** The params of the JSON-RPC message a POST carried, if it is one. */
const rpcParams = (request: FastifyRequest) => (request.body as { params?: { name?: unknown } } | undefined)?.params;

/** Largest JSON-RPC message accepted (tool arguments included). */
const BODY_LIMIT = 1024 * 1024;

/** The endpoints' answer to a URL the router could not match: a JSON-RPC error, like every other refusal. */
export const mcpUrlErrors = {
  matches: (path: string) => /\/(mcp|sse|messages)$/.test(path),
  answer: (message: string) => ({
    contentType: "application/json",
    body: errorResponse(undefined, JSONRPC_ERRORS.invalidRequest, message),
  }),
};

function refuse(reply: FastifyReply, refusal: EndpointRefusal) {
  return reply
    .code(refusal.status)
    .headers(refusal.headers)
    .type("application/json")
    .send(errorResponse(refusal.id, refusal.code, refusal.message, refusal.data));
}

/** Fastify's own refusals (body too large, bad JSON, wrong media type) as JSON-RPC errors. */
function onError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof EndpointRefusal) return refuse(reply, error);
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return refuse(
      reply,
      new EndpointRefusal(413, JSONRPC_ERRORS.invalidRequest, `the message is over ${BODY_LIMIT} bytes`),
    );
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return refuse(reply, new EndpointRefusal(415, JSONRPC_ERRORS.invalidRequest, "send application/json"));
  if (error instanceof SyntaxError || error.statusCode === 400)
    return refuse(reply, new EndpointRefusal(400, JSONRPC_ERRORS.parseError, "the body is not valid JSON"));
  reply.log.error({ err: error }, "MCP endpoint failed");
  return refuse(reply, new EndpointRefusal(500, JSONRPC_ERRORS.internalError, "internal error"));
}

/**
 * The runtime role: every tenant's MCP endpoint, at /<slug>/mcp and at
 * <slug>.<ISOLA_MCP_DOMAIN>/mcp (or a server's custom domain), with its protected resource
 * metadata. Each request leaves one access-log line: server, JSON-RPC method, status, time, caller.
 */
export function runtimePlugin(deps: RuntimeDeps, options: { mcpDomain?: string } = {}): FastifyPluginAsync {
  return async (app) => {
    const keys = new ApiKeyCache();
    deps.directory.onChange((change) => {
      if (change.kind === "keys" || change.kind === "deleted") keys.forgetServer(change.serverId);
    });
    const context: EndpointContext = { deps, keys, ownOrigin: new URL(deps.config.publicUrl).origin };
    const publicOrigin = new URL(deps.config.publicUrl).origin;
    // Host-routed URLs take the public scheme: behind a TLS proxy the request itself says http.
    const hostOrigin = (request: FastifyRequest) => `${new URL(deps.config.publicUrl).protocol}//${request.host}`;
    const legacy = new LegacySse(context);
    await app.register(fastifySSE);
    // Open legacy streams would hold close() open: they end first (their clients reconnect elsewhere).
    app.addHook("preClose", () => legacy.close());

    app.setErrorHandler(onError);
    // The API speaks JSON only (Fastify would also parse text/plain).
    app.addHook("preValidation", async (request) => {
      const type = request.headers["content-type"];
      if (request.method === "POST" && !/^application\/([\w.+-]*\+)?json\b/i.test(type ?? "")) {
        throw new EndpointRefusal(415, JSONRPC_ERRORS.invalidRequest, "send application/json");
      }
    });

    async function serve(
      request: FastifyRequest,
      reply: FastifyReply,
      server: ServerRecord | null,
      urls: ResourceUrls,
      handler: EndpointHandler,
    ) {
      const started = performance.now();
      const note: AccessNote = { ...(server ? { server: server.slug } : {}) };
      const route = request.routeOptions.url ?? "";
      await deps.tracing.request(
        `${request.method} ${route}`,
        request.headers,
        {
          "http.request.method": request.method,
          "http.route": route,
          "isola.server": server?.slug,
          "isola.session.present": typeof request.headers["mcp-session-id"] === "string",
        },
        async (span) => {
          // Every line this request logs names its trace.
          if (span.traceId) request.log = request.log.child({ traceId: span.traceId });
          try {
            if (!server) throw new EndpointRefusal(404, JSONRPC_ERRORS.serverError, "no such server");
            // On the raw response, so that streamed (hijacked) answers carry them too.
            const cors = corsHeaders(request.headers.origin, {
              ownOrigin: context.ownOrigin,
              allowedOrigins: server.allowedOrigins,
            });
            for (const [name, value] of Object.entries(cors)) reply.raw.setHeader(name, value);
            await handler(context, server, request, reply, urls, note);
          } catch (error) {
            if (!(error instanceof EndpointRefusal)) {
              span.fail("internal", "the endpoint failed unexpectedly");
              throw error;
            }
            // A refusal is the client's error (4xx: the span's status stays unset, as for HTTP servers) or ours (5xx).
            if (error.status >= 500) span.fail(refusalKind(error.status), error.message);
            else span.set({ "error.type": refusalKind(error.status) });
            if (!reply.sent) await refuse(reply, error);
          } finally {
            const status = reply.raw.statusCode;
            const tool = note.rpc === "tools/call" && server ? toolLabel(server, rpcParams(request)?.name) : undefined;
            span.set({ "mcp.method.name": note.rpc, "gen_ai.tool.name": tool, "http.response.status_code": status });
            if (note.rpc) span.rename(tool ? `${note.rpc} ${tool}` : note.rpc);
            // The client's header, or the id an initialize just created.
            const session = request.headers["mcp-session-id"] ?? reply.raw.getHeader("mcp-session-id");
            if (typeof session === "string") note.session = sessionRef(session);
            // The app's logger: the route's own is at warn, to keep Fastify's per-request lines out.
            app.log.info(
              {
                reqId: request.id,
                ...(span.traceId ? { traceId: span.traceId } : {}),
                access: { ...note, status, ms: Math.round((performance.now() - started) * 10) / 10 },
              },
              "mcp request",
            );
          }
        },
      );
    }

    const routeOptions = { bodyLimit: BODY_LIMIT, logLevel: "warn" as const };
    // Browser clients on a server's allowed origins ask first (CORS preflight).
    for (const [path, methods] of [
      ["mcp", ["GET", "POST", "DELETE"]],
      ["sse", ["GET"]],
      ["messages", ["POST"]],
    ] as const) {
      const answer = (request: FastifyRequest, reply: FastifyReply, server: ServerRecord | null) => {
        if (!server) return refuse(reply, new EndpointRefusal(404, JSONRPC_ERRORS.serverError, "no such server"));
        const requested = request.headers["access-control-request-method"];
        const result = preflight(request.headers.origin, requested, methods, {
          ownOrigin: context.ownOrigin,
          allowedOrigins: server.allowedOrigins,
        });
        if (!result.ok)
          return refuse(reply, new EndpointRefusal(result.status, JSONRPC_ERRORS.serverError, result.message));
        return reply.code(204).headers(result.headers).send();
      };
      app.options<{ Params: { slug: string } }>(`/:slug/${path}`, { logLevel: "warn" }, async (request, reply) =>
        answer(request, reply, await deps.directory.bySlug(request.params.slug)),
      );
      app.options(`/${path}`, { logLevel: "warn" }, async (request, reply) =>
        answer(request, reply, await serverByHost(request)),
      );
    }
    for (const [method, path, handler] of [
      ["POST", "mcp", handlePost],
      ["GET", "mcp", handleGet],
      ["DELETE", "mcp", handleDelete],
      // The legacy HTTP+SSE transport (2024-11-05), for servers that switch it on.
      ["GET", "sse", legacy.openStream],
      ["POST", "messages", legacy.postMessage],
    ] as const) {
      const options = handler === legacy.openStream ? { ...routeOptions, sse: STREAM_ROUTE_SSE } : routeOptions;
      // Path-routed: https://HOST/<slug>/mcp (the resource every route of a server authenticates for)
      app.route<{ Params: { slug: string } }>({
        method,
        url: `/:slug/${path}`,
        ...options,
        handler: async (request, reply) => {
          const server = await deps.directory.bySlug(request.params.slug);
          await serve(request, reply, server, resourceUrls(publicOrigin, `/${request.params.slug}/mcp`), handler);
        },
      });
      // Host-routed: https://<slug>.<domain>/mcp, or a custom domain.
      app.route({
        method,
        url: `/${path}`,
        ...options,
        handler: async (request, reply) => {
          const server = await serverByHost(request);
          await serve(request, reply, server, resourceUrls(hostOrigin(request), "/mcp"), handler);
        },
      });
    }

    async function serverByHost(request: FastifyRequest): Promise<ServerRecord | null> {
      const host = request.hostname.toLowerCase();
      const domain = options.mcpDomain?.toLowerCase();
      if (domain && host.endsWith(`.${domain}`)) {
        const slug = host.slice(0, -domain.length - 1);
        return slug.includes(".") ? null : deps.directory.bySlug(slug);
      }
      return deps.directory.byCustomDomain(host);
    }

    // Protected resource metadata (RFC 9728), path-inserted: never a root document on a path-routed host.
    async function metadata(reply: FastifyReply, server: ServerRecord | null, urls: ResourceUrls) {
      if (server?.authMode !== "oauth") {
        return reply
          .code(404)
          .type("application/json")
          .send({ error: "not_found", error_description: "no OAuth-protected server here" });
      }
      const scopes = supportedScopes(server.version?.manifest);
      return reply.send(protectedResourceMetadata(urls, deps.issuer, scopes, server.slug));
    }
    app.get<{ Params: { slug: string } }>("/.well-known/oauth-protected-resource/:slug/mcp", async (request, reply) =>
      metadata(
        reply,
        await deps.directory.bySlug(request.params.slug),
        resourceUrls(publicOrigin, `/${request.params.slug}/mcp`),
      ),
    );
    app.get("/.well-known/oauth-protected-resource/mcp", async (request, reply) =>
      metadata(reply, await serverByHost(request), resourceUrls(hostOrigin(request), "/mcp")),
    );
  };
}
