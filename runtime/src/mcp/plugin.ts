import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { ApiKeyCache, BASE_SCOPE } from "./auth/authenticate.ts";
import { protectedResourceMetadata, type ResourceUrls, resourceUrls } from "./auth/protected-resource.ts";
import type { RuntimeDeps } from "./context.ts";
import {
  type AccessNote,
  type EndpointContext,
  EndpointRefusal,
  handleDelete,
  handleGet,
  handlePost,
} from "./endpoint.ts";
import { errorResponse, JSONRPC_ERRORS } from "./protocol/jsonrpc.ts";
import type { ServerRecord } from "./server-directory.ts";

/** Largest JSON-RPC message accepted (tool arguments included). */
const BODY_LIMIT = 1024 * 1024;

type Handler = typeof handlePost;

function refuse(reply: FastifyReply, refusal: EndpointRefusal) {
  return reply
    .code(refusal.status)
    .headers(refusal.headers)
    .type("application/json")
    .send(errorResponse(refusal.id, refusal.code, refusal.message));
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
      handler: Handler,
    ) {
      const started = performance.now();
      const note: AccessNote = { ...(server ? { server: server.slug } : {}) };
      try {
        if (!server) throw new EndpointRefusal(404, JSONRPC_ERRORS.serverError, "no such server");
        await handler(context, server, request, reply, urls, note);
      } catch (error) {
        if (!(error instanceof EndpointRefusal)) throw error;
        if (!reply.sent) await refuse(reply, error);
      } finally {
        // The app's logger: the route's own is at warn, to keep Fastify's per-request lines out.
        app.log.info(
          {
            reqId: request.id,
            access: { ...note, status: reply.raw.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 },
          },
          "mcp request",
        );
      }
    }

    const routeOptions = { bodyLimit: BODY_LIMIT, logLevel: "warn" as const };
    for (const [method, handler] of [
      ["POST", handlePost],
      ["GET", handleGet],
      ["DELETE", handleDelete],
    ] as const) {
      // Path-routed: https://HOST/<slug>/mcp
      app.route<{ Params: { slug: string } }>({
        method,
        url: "/:slug/mcp",
        ...routeOptions,
        handler: async (request, reply) => {
          const server = await deps.directory.bySlug(request.params.slug);
          await serve(request, reply, server, resourceUrls(publicOrigin, `/${request.params.slug}/mcp`), handler);
        },
      });
      // Host-routed: https://<slug>.<domain>/mcp, or a custom domain.
      app.route({
        method,
        url: "/mcp",
        ...routeOptions,
        handler: async (request, reply) => {
          const server = await serverByHost(request);
          await serve(request, reply, server, resourceUrls(`${request.protocol}://${request.host}`, "/mcp"), handler);
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
      return reply.send(protectedResourceMetadata(urls, deps.issuer, [BASE_SCOPE], server.slug));
    }
    app.get<{ Params: { slug: string } }>("/.well-known/oauth-protected-resource/:slug/mcp", async (request, reply) =>
      metadata(
        reply,
        await deps.directory.bySlug(request.params.slug),
        resourceUrls(publicOrigin, `/${request.params.slug}/mcp`),
      ),
    );
    app.get("/.well-known/oauth-protected-resource/mcp", async (request, reply) =>
      metadata(reply, await serverByHost(request), resourceUrls(`${request.protocol}://${request.host}`, "/mcp")),
    );
  };
}
