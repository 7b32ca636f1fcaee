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
import {
  isRelayed,
  replayInitialize,
  type SharedSession,
  SharedSessions,
  tagServerRequests,
} from "./shared-sessions.ts";

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
    const limits = options.sessionLimits ?? SESSION_LIMITS;
    const sessions = new SessionTable(limits);
    const shared = new SharedSessions(deps.bus, limits.idleMs);
    // What a client POSTed on another node for a session this node holds: its McpServer may wait for it.
    const stopRelay = await shared
      .relayTo((id, message) => sessions.held(id)?.transport.onmessage?.(message as never))
      .catch(() => async () => {});
    /** Sessions being rebuilt from their record, so that concurrent requests share one. */
    const rebuilding = new Map<string, Promise<StreamableHTTPServerTransport>>();
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
    app.addHook("onClose", async () => {
      await unsubscribe().catch(() => {});
      await stopRelay().catch(() => {});
    });

    /**
     * A new McpServer and transport for a session, added to the table once initialized: by the
     * client's initialize (its record then stored), or with `id`, rebuilt from its record.
     */
    async function open(
      caller: string,
      initialize: SharedSession["initialize"],
      id?: string,
    ): Promise<StreamableHTTPServerTransport> {
      const server = createIsolaServer(parts);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: id ? () => id : randomUUID,
        onsessioninitialized: async (newId) => {
          const stored = id ? true : await shared.save(newId, { caller, initialize });
          sessions.add({ id: newId, transport, server, caller, shared: stored, savedAt: Date.now() });
        },
        // DELETE: ended for every node (the others close their copies at their next request).
        onsessionclosed: async (closedId) => {
          sessions.delete(closedId);
          await shared.delete(closedId);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId && sessions.held(transport.sessionId)?.transport === transport)
          sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      tagServerRequests(transport, shared.node);
      if (id) await replayInitialize(transport, id, initialize);
      return transport;
    }

    /** The transport of `caller`'s session `id`: this node's copy, or one rebuilt from the Bus; undefined when unknown or ended. */
    async function sessionFor(id: string, caller: string): Promise<StreamableHTTPServerTransport | undefined> {
      const stored = await shared.load(id);
      const local = sessions.get(id, caller);
      // The Bus cannot say: what this node holds goes on.
      if (stored === "unavailable") return local?.transport;
      if (!stored) {
        // Ended on another node (or expired): this node's copy ends too. One begun while the Bus was down stays.
        if (local?.shared) {
          await sessions.close(local);
          return undefined;
        }
        return local?.transport;
      }
      if (stored.caller !== caller) return undefined;
      if (local) {
        if (Date.now() - (local.savedAt ?? 0) > 60_000) {
          local.savedAt = Date.now();
          await shared.save(id, stored);
        }
        return local.transport;
      }
      let pending = rebuilding.get(id);
      if (!pending) {
        pending = open(caller, stored.initialize, id).finally(() => rebuilding.delete(id));
        rebuilding.set(id, pending);
      }
      return pending;
    }

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
          const held = await sessionFor(sessionId, key);
          // Another caller's session is as unknown as one that ended.
          if (!held) throw new Refusal(404, REFUSED, "no such session: start a new one with initialize");
          transport = held;
          // The node that asked (or runs the call) may be another: it gets the message too.
          if (request.method === "POST" && isRelayed(request.body)) await shared.relay(sessionId, request.body);
        } else if (request.method === "POST" && isInitializeRequest(request.body)) {
          const { params } = request.body;
          transport = await open(key, {
            protocolVersion: params.protocolVersion,
            capabilities: params.capabilities as Record<string, unknown>,
            clientInfo: params.clientInfo as unknown as Record<string, unknown>,
          });
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
