import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BASE_SCOPE, OAUTH_GRANT_REVOKED, protectedResourceMetadata, resourceUrls } from "@isola/schema";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ErrorCode, isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { actorLabel } from "../auth/actor.ts";
import { buildActions, modelBuildPolicy } from "../builds/build-actions.ts";
import type { ControlDeps } from "../deps.ts";
import { ISOLA_MCP_PATH } from "../oauth/resources.ts";
import { type Catalogue, loadCatalogue } from "../templates/catalogue.ts";
import { type AccessTokenVerifier, authenticateCaller, callerKey } from "./caller.ts";
import { BODY_LIMIT, jsonRpcMethod, onError, REFUSED, Refusal, refuse } from "./refusals.ts";
import { createIsolaServer } from "./server.ts";
import { SESSION_LIMITS, type SessionLimits, SessionTable } from "./sessions.ts";

export interface IsolaMcpOptions {
  /** Checks OAuth access tokens (the composition root's); without it only personal access tokens work. */
  accessTokens?: AccessTokenVerifier;
  catalogue?: Catalogue;
  sessionLimits?: SessionLimits;
}

/**
 * Isola's own MCP server at /_isola/mcp (Streamable HTTP, the SDK's transport on Fastify's raw
 * request and response), and its protected resource metadata. An AI client builds and runs servers
 * through it, as the user whose personal access token or OAuth access token it sends: every tool
 * checks that user's roles exactly as the REST API does, with the same functions.
 */
export function isolaMcpPlugin(deps: ControlDeps, options: IsolaMcpOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const publicOrigin = new URL(deps.config.publicUrl).origin;
    const urls = resourceUrls(publicOrigin, ISOLA_MCP_PATH);
    const issuer = `${deps.config.publicUrl}/oauth`;
    const parts = {
      deps,
      builds: buildActions(deps, modelBuildPolicy(deps)),
      catalogue: options.catalogue ?? loadCatalogue(),
    };
    const sessions = new SessionTable(options.sessionLimits ?? SESSION_LIMITS);
    const sweeper = setInterval(() => void sessions.sweep(), 60_000);
    sweeper.unref();
    const accessTokens = options.accessTokens;
    // Every node forgets a revoked grant's tokens at once (it also asks whether a grant stands).
    const unsubscribe = accessTokens
      ? await deps.bus
          .subscribe(OAUTH_GRANT_REVOKED, (grantId) => accessTokens.forgetGrant(grantId))
          .catch(() => async () => {})
      : async () => {};
    // Open streams (a GET, a call waiting for a secret) would hold close() open: sessions end first.
    app.addHook("preClose", async () => {
      clearInterval(sweeper);
      await sessions.closeAll();
    });
    app.addHook("onClose", async () => unsubscribe().catch(() => {}));

    app.decorateRequest("actor", null);
    app.decorateRequest("actorError", null);
    app.setErrorHandler(onError);
    // JSON only (Fastify would also parse text/plain).
    app.addHook("preValidation", async (request) => {
      const type = request.headers["content-type"];
      if (request.method === "POST" && !/^application\/([\w.+-]*\+)?json\b/i.test(type ?? "")) {
        throw new Refusal(415, ErrorCode.InvalidRequest, "send application/json");
      }
    });

    async function handle(request: FastifyRequest, reply: FastifyReply) {
      const started = performance.now();
      let caller: string | undefined;
      try {
        // Browsers send Origin; only Isola's own pages may call from one (DNS rebinding, cross-site use).
        const origin = request.headers.origin;
        if (origin !== undefined && origin !== publicOrigin) {
          throw new Refusal(403, REFUSED, `origin ${String(origin).slice(0, 100)} may not call this endpoint`);
        }
        const outcome = await authenticateCaller(request, { db: deps.db, accessTokens, urls });
        if (!outcome.ok) {
          throw new Refusal(outcome.status, REFUSED, outcome.message, { "www-authenticate": outcome.challenge });
        }
        request.actor = outcome.actor;
        caller = actorLabel(outcome.actor);
        const key = callerKey(outcome.actor);
        const sessionId = request.headers["mcp-session-id"];
        let transport: StreamableHTTPServerTransport;
        if (typeof sessionId === "string") {
          const session = sessions.get(sessionId, key);
          // Another caller's session is as unknown as one that ended.
          if (!session) throw new Refusal(404, REFUSED, "no such session: start a new one with initialize");
          transport = session.transport;
        } else if (request.method === "POST" && isInitializeRequest(request.body)) {
          const server = createIsolaServer(parts);
          transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: randomUUID,
            onsessioninitialized: (id) => sessions.add({ id, transport, server, caller: key }),
            onsessionclosed: (id) => sessions.delete(id),
          });
          transport.onclose = () => {
            if (transport.sessionId) sessions.delete(transport.sessionId);
          };
          await server.connect(transport);
        } else {
          throw new Refusal(400, ErrorCode.InvalidRequest, "send Mcp-Session-Id, or begin a session with initialize");
        }
        // Each message carries the request it came in (its caller resolved) to the tool it calls:
        // the tools check that caller's permissions, as the REST API does with the same request.
        const auth: AuthInfo = {
          token: "",
          clientId: outcome.actor.via === "oauth" ? (outcome.actor.clientId ?? "") : "",
          scopes: [BASE_SCOPE],
          extra: { request },
        };
        (request.raw as IncomingMessage & { auth?: AuthInfo }).auth = auth;
        reply.hijack();
        try {
          await transport.handleRequest(request.raw, reply.raw, request.body);
        } catch (error) {
          // Hijacked: Fastify no longer answers for this request, so the failure is answered here.
          request.log.error({ err: error }, "Isola's MCP transport failed");
          if (!reply.raw.headersSent) {
            reply.raw.writeHead(500, { "content-type": "application/json" });
            reply.raw.end(
              JSON.stringify({
                jsonrpc: "2.0",
                id: null,
                error: { code: ErrorCode.InternalError, message: "internal error" },
              }),
            );
          } else reply.raw.end();
        }
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        if (!reply.sent) await refuse(reply, error);
      } finally {
        app.log.info(
          {
            reqId: request.id,
            access: {
              server: "_isola",
              method: jsonRpcMethod(request.body),
              status: reply.raw.statusCode,
              caller,
              ms: Math.round((performance.now() - started) * 10) / 10,
            },
          },
          "isola mcp request",
        );
      }
    }

    const routeOptions = { bodyLimit: BODY_LIMIT, logLevel: "warn" as const, handler: handle };
    app.route({ method: "POST", url: ISOLA_MCP_PATH, ...routeOptions });
    app.route({ method: "GET", url: ISOLA_MCP_PATH, ...routeOptions });
    app.route({ method: "DELETE", url: ISOLA_MCP_PATH, ...routeOptions });

    // Protected resource metadata (RFC 9728), path-inserted like every tenant server's.
    app.get(`/.well-known/oauth-protected-resource${ISOLA_MCP_PATH}`, async () =>
      protectedResourceMetadata(urls, issuer, [BASE_SCOPE], "Isola"),
    );
  };
}
