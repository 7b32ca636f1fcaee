import { BusError } from "@isola/schema";
import { InitializeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import { type ApiKeyCache, authenticate } from "./auth/authenticate.ts";
import { bearerChallenge, type ResourceUrls } from "./auth/protected-resource.ts";
import { scopeShortfall, shortfallMessage } from "./auth/tool-scopes.ts";
import type { Caller, MethodContext, RuntimeDeps } from "./context.ts";
import { methodFor } from "./methods/index.ts";
import { SERVER_CAPABILITIES } from "./methods/lifecycle.ts";
import { recordRefusedCall } from "./methods/tools.ts";
import {
  type Classified,
  classify,
  errorResponse,
  JSONRPC_ERRORS,
  JsonRpcError,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
  result,
} from "./protocol/jsonrpc.ts";
import {
  acceptsEventStream,
  acceptsPost,
  checkVersionHeader,
  negotiate,
  originAllowed,
} from "./protocol/negotiation.ts";
import { parseEventId, Responder, resumeStream } from "./responder.ts";
import type { ServerRecord } from "./server-directory.ts";
import type { Session } from "./session-store.ts";

/** A refusal before any method runs: an HTTP status with a JSON-RPC error body. */
export class EndpointRefusal extends Error {
  readonly status: number;
  readonly code: number;
  readonly headers: Record<string, string>;
  readonly id: RequestId | undefined;
  /** The JSON-RPC error's `data`, for a client that acts on the refusal (a step-up). */
  readonly data: unknown;
  constructor(
    status: number,
    code: number,
    message: string,
    options: { headers?: Record<string, string>; id?: RequestId; data?: unknown } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
    this.id = options.id;
    this.data = options.data;
  }
}

export interface EndpointContext {
  deps: RuntimeDeps;
  keys: ApiKeyCache;
  /** This instance's own origin (PUBLIC_URL), always allowed as an Origin. */
  ownOrigin: string;
}

/** What the access log says about a request (never a token or a key). */
export interface AccessNote {
  server?: string;
  rpc?: string;
  caller?: string;
  /** The MCP session, as `sessionRef` names it: ties a session's requests together across nodes. */
  session?: string;
}

// ---- The steps every request to a server's endpoint goes through, in order. ----

/** A server that is paused or has nothing deployed answers 503 (clients may retry later). */
export function checkServing(server: ServerRecord): void {
  if (server.status === "paused")
    throw new EndpointRefusal(503, JSONRPC_ERRORS.serverError, `the server ${server.slug} is paused`);
  if (!server.version)
    throw new EndpointRefusal(503, JSONRPC_ERRORS.serverError, `the server ${server.slug} has no deployed version`);
}

/** Browsers must come from an allowed origin (DNS rebinding, cross-site requests): 403 otherwise. */
export function checkOrigin(context: EndpointContext, server: ServerRecord, request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (!originAllowed(origin, context.ownOrigin, server.allowedOrigins)) {
    throw new EndpointRefusal(
      403,
      JSONRPC_ERRORS.serverError,
      `origin ${String(origin).slice(0, 100)} is not allowed for this server`,
    );
  }
}

export async function checkCaller(
  context: EndpointContext,
  server: ServerRecord,
  request: FastifyRequest,
  urls: ResourceUrls,
): Promise<Caller> {
  const outcome = await context.deps.tracing.span("auth", { "isola.auth.mode": server.authMode }, async (span) => {
    const outcome = await authenticate(context.deps, context.keys, server, request, urls);
    if (outcome.ok) span.set({ "isola.caller.kind": outcome.caller.kind });
    else span.fail(outcome.status === 401 ? "unauthenticated" : "forbidden", outcome.message);
    return outcome;
  });
  if (!outcome.ok)
    throw new EndpointRefusal(outcome.status, JSONRPC_ERRORS.serverError, outcome.message, {
      headers: outcome.headers,
    });
  return outcome.caller;
}

/** The session a request names: 400 without one, 404 for one that ended or is someone else's. */
async function checkSession(
  context: EndpointContext,
  server: ServerRecord,
  caller: Caller,
  request: FastifyRequest,
): Promise<Session> {
  const id = request.headers["mcp-session-id"];
  if (typeof id !== "string" || id === "") {
    throw new EndpointRefusal(400, JSONRPC_ERRORS.serverError, "send the Mcp-Session-Id header from initialize");
  }
  const session = await context.deps.sessions.get(id);
  if (!session || session.serverId !== server.id || session.principal !== caller.rateKey) {
    throw new EndpointRefusal(404, JSONRPC_ERRORS.serverError, "session not found; initialize a new one");
  }
  const version = checkVersionHeader(request.headers["mcp-protocol-version"]);
  if (!version.ok) throw new EndpointRefusal(400, JSONRPC_ERRORS.serverError, version.message);
  return session;
}

/**
 * A tools/call of a tool whose scopes the caller's OAuth token lacks: 403 insufficient_scope,
 * the challenge naming every scope the call needs (mcp:tools and the tool's), so that the client
 * asks the user for them and retries (RFC 6750 §3.1; MCP 2025-11-25 "Scope Challenge Handling").
 * Before the limits: a refused call costs no rate or quota, and never reaches the sandbox.
 */
export function checkToolScopes(
  context: EndpointContext,
  server: ServerRecord,
  caller: Caller,
  rpc: JsonRpcRequest,
  urls: ResourceUrls,
): void {
  if (rpc.method !== "tools/call") return;
  const tool = server.version?.manifest.tools.find((candidate) => candidate.name === rpc.params?.name);
  const shortfall = scopeShortfall(caller, tool);
  if (!shortfall) return;
  const message = shortfallMessage(shortfall);
  context.deps.logs.write(server.id, {
    level: "info",
    source: "runtime",
    message: `${message}: asked the client to step up`,
    tool: shortfall.tool,
    caller: caller.label,
  });
  const challenge = bearerChallenge(urls, shortfall.required, { code: "insufficient_scope", description: message });
  throw new EndpointRefusal(403, JSONRPC_ERRORS.serverError, message, {
    headers: { "www-authenticate": challenge },
    id: rpc.id,
    data: { error: "insufficient_scope", scope: shortfall.required.join(" "), missingScopes: shortfall.missing },
  });
}

/** Rate limit per caller (and the org's monthly quota for tool calls): 429 with Retry-After. */
export async function checkLimits(
  context: EndpointContext,
  server: ServerRecord,
  caller: Caller,
  rpc: JsonRpcRequest,
): Promise<void> {
  const { limits, logs } = context.deps;
  const check = await context.deps.tracing.span("limits", { "mcp.method.name": rpc.method }, async (span) => {
    const check = await limits.check(server, caller, rpc.method);
    if (!check.ok) span.fail(check.limit === "rate" ? "rate_limited" : "quota_exceeded", check.message);
    return check;
  });
  if (check.ok) return;
  if (rpc.method === "tools/call") recordRefusedCall(context.deps, server, caller, rpc, "limit");
  logs.write(server.id, {
    level: "warning",
    source: "limit",
    message: check.message,
    caller: caller.label,
    data: { limit: check.limit },
  });
  throw new EndpointRefusal(429, JSONRPC_ERRORS.serverError, check.message, {
    headers: { "retry-after": String(check.retryAfterSeconds) },
    id: rpc.id,
  });
}

// ---- The handlers. ----

/** What every route of a server's endpoint runs, once the server is looked up. */
export type EndpointHandler = (
  context: EndpointContext,
  server: ServerRecord,
  request: FastifyRequest,
  reply: FastifyReply,
  urls: ResourceUrls,
  note: AccessNote,
) => Promise<void>;

/** POST: one JSON-RPC message. */
export async function handlePost(
  context: EndpointContext,
  server: ServerRecord,
  request: FastifyRequest,
  reply: FastifyReply,
  urls: ResourceUrls,
  note: AccessNote,
): Promise<void> {
  const { deps } = context;
  checkServing(server);
  checkOrigin(context, server, request);
  const caller = await checkCaller(context, server, request, urls);
  note.caller = caller.label;
  if (!acceptsPost(request.headers.accept)) {
    throw new EndpointRefusal(
      406,
      JSONRPC_ERRORS.serverError,
      "Accept must list both application/json and text/event-stream",
    );
  }
  const message = checkMessage(request.body);

  if (message.kind === "request" && message.message.method === "initialize") {
    note.rpc = "initialize";
    await initialize(context, server, caller, message.message, reply);
    return;
  }

  const session = await checkSession(context, server, caller, request);
  if (message.kind === "notification") {
    note.rpc = message.message.method;
    const params = message.message.params as { requestId?: RequestId; reason?: string } | undefined;
    if (message.message.method === "notifications/cancelled" && params?.requestId !== undefined) {
      await deps.relay.cancel(
        session.id,
        params.requestId,
        String(params.reason ?? "cancelled by the client"),
        request.id,
      );
    }
    await reply.code(202).send();
    return;
  }
  if (message.kind === "response") {
    note.rpc = "response";
    await deps.relay.deliver(session.id, message.message, request.id);
    await reply.code(202).send();
    return;
  }

  const rpc = message.message;
  note.rpc = rpc.method;
  checkToolScopes(context, server, caller, rpc, urls);
  await checkLimits(context, server, caller, rpc);
  const responder = new Responder(reply, deps.bus, session.id, session.protocolVersion);
  const answer = await answerRequest(context, server, session, caller, rpc, responder, request.log);
  await responder.finish(answer as unknown as Record<string, unknown>);
}

/** The one message a POST carries: batches (removed in 2025-06-18) and non-JSON-RPC bodies are refused (400). */
export function checkMessage(body: unknown): Exclude<Classified, { kind: "batch" } | { kind: "invalid" }> {
  const message = classify(body);
  if (message.kind === "batch") {
    throw new EndpointRefusal(
      400,
      JSONRPC_ERRORS.invalidRequest,
      "JSON-RPC batches are not supported: send one message per request",
    );
  }
  if (message.kind === "invalid") {
    throw new EndpointRefusal(
      400,
      message.error.code,
      message.error.message,
      message.id === undefined ? {} : { id: message.id },
    );
  }
  return message;
}

/**
 * Runs a request through the METHODS table (methods/index.ts); cancellable from any node while it runs. Always an
 * answer: a JSON-RPC error for a method that failed (an unexpected failure is logged, not shown).
 */
export async function answerRequest(
  context: EndpointContext,
  server: ServerRecord,
  session: Session,
  caller: Caller,
  rpc: JsonRpcRequest,
  responder: MethodContext["responder"],
  log: FastifyBaseLogger,
): Promise<JsonRpcResponse> {
  const { deps } = context;
  const controller = new AbortController();
  const forget = deps.relay.track(session.id, rpc.id, controller);
  try {
    const method = methodFor(rpc.method);
    if (!method) throw new JsonRpcError(JSONRPC_ERRORS.methodNotFound, `Method not found: ${rpc.method}`);
    return result(
      rpc.id,
      await method({ deps, server, session, caller, request: rpc, responder, signal: controller.signal }),
    );
  } catch (error) {
    if (!(error instanceof JsonRpcError)) {
      log.error({ err: error, server: server.slug, rpc: rpc.method }, "MCP method failed");
      deps.tracing.current().fail("internal", "the method failed unexpectedly");
      return errorResponse(rpc.id, JSONRPC_ERRORS.internalError, "internal error");
    }
    deps.tracing.current().set({ "rpc.jsonrpc.error_code": error.code });
    return errorResponse(rpc.id, error.code, error.message, error.data);
  } finally {
    forget();
  }
}

async function initialize(
  context: EndpointContext,
  server: ServerRecord,
  caller: Caller,
  rpc: JsonRpcRequest,
  reply: FastifyReply,
): Promise<void> {
  const { session, response } = await openSession(context, server, caller, rpc);
  await reply.code(200).header("mcp-session-id", session.id).type("application/json").send(response);
}

/** initialize: checked, counted against the caller's rate limit, and a new session in the Bus. */
export async function openSession(
  context: EndpointContext,
  server: ServerRecord,
  caller: Caller,
  rpc: JsonRpcRequest,
): Promise<{ session: Session; response: JsonRpcResponse }> {
  const parsed = InitializeRequestSchema.safeParse(rpc);
  if (!parsed.success) {
    throw new EndpointRefusal(
      400,
      JSONRPC_ERRORS.invalidParams,
      "initialize needs protocolVersion, capabilities and clientInfo",
      { id: rpc.id },
    );
  }
  await checkLimits(context, server, caller, rpc);
  const protocolVersion = negotiate(parsed.data.params.protocolVersion);
  const session = await context.deps.sessions.create({
    serverId: server.id,
    principal: caller.rateKey,
    protocolVersion,
    clientInfo: parsed.data.params.clientInfo as Record<string, unknown>,
    clientCapabilities: parsed.data.params.capabilities as Record<string, unknown>,
  });
  const manifest = server.version?.manifest;
  const response = result(rpc.id, {
    protocolVersion,
    capabilities: SERVER_CAPABILITIES,
    serverInfo: {
      name: manifest?.name ?? server.slug,
      version: manifest?.version ?? `v${server.version?.number ?? 0}`,
    },
    ...(manifest?.description ? { instructions: manifest.description } : {}),
  });
  return { session, response };
}

/** GET: resumption of a stream with Last-Event-ID; there is no standalone server stream (405). */
export async function handleGet(
  context: EndpointContext,
  server: ServerRecord,
  request: FastifyRequest,
  reply: FastifyReply,
  urls: ResourceUrls,
  note: AccessNote,
): Promise<void> {
  checkOrigin(context, server, request);
  const caller = await checkCaller(context, server, request, urls);
  note.caller = caller.label;
  const lastEventId = request.headers["last-event-id"];
  if (typeof lastEventId !== "string") {
    throw new EndpointRefusal(
      405,
      JSONRPC_ERRORS.serverError,
      "this server sends messages on POST responses only; there is no standalone stream",
      {
        headers: { allow: "POST, DELETE" },
      },
    );
  }
  if (!acceptsEventStream(request.headers.accept))
    throw new EndpointRefusal(406, JSONRPC_ERRORS.serverError, "Accept must list text/event-stream");
  const session = await checkSession(context, server, caller, request);
  const position = parseEventId(lastEventId);
  if (!position)
    throw new EndpointRefusal(400, JSONRPC_ERRORS.serverError, "Last-Event-ID is not an event id this server sent");
  note.rpc = "resume";
  let resumed: boolean;
  try {
    resumed = await resumeStream(reply, context.deps.bus, session.id, position);
  } catch (error) {
    if (!(error instanceof BusError)) throw error;
    throw new EndpointRefusal(503, JSONRPC_ERRORS.serverError, "streams cannot be resumed right now; retry later", {
      headers: { "retry-after": "2" },
    });
  }
  if (!resumed) {
    throw new EndpointRefusal(
      400,
      JSONRPC_ERRORS.serverError,
      "Last-Event-ID names no event this server keeps (unknown, or its stream expired)",
    );
  }
}

/** DELETE: ends the session on every node. */
export async function handleDelete(
  context: EndpointContext,
  server: ServerRecord,
  request: FastifyRequest,
  reply: FastifyReply,
  urls: ResourceUrls,
  note: AccessNote,
): Promise<void> {
  checkOrigin(context, server, request);
  const caller = await checkCaller(context, server, request, urls);
  note.caller = caller.label;
  const session = await checkSession(context, server, caller, request);
  note.rpc = "end-session";
  await context.deps.sessions.delete(session.id);
  await reply.code(200).send();
}
