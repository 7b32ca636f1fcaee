// The legacy HTTP+SSE transport (MCP 2024-11-05), for clients that predate Streamable HTTP:
// GET /<slug>/sse opens a stream whose first event names where to POST messages; every answer
// and every message from the server goes out on that stream. Off unless a server switches it on.
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import type { ResourceUrls } from "./auth/protected-resource.ts";
import type { Caller, MethodContext } from "./context.ts";
import {
  answerRequest,
  checkCaller,
  checkLimits,
  checkMessage,
  checkOrigin,
  checkServing,
  checkToolScopes,
  type EndpointContext,
  type EndpointHandler,
  EndpointRefusal,
  openSession,
} from "./endpoint.ts";
import { type LegacyStream, LegacyStreams } from "./legacy-streams.ts";
import { JSONRPC_ERRORS, type JsonRpcRequest, type JsonRpcResponse, type RequestId } from "./protocol/jsonrpc.ts";
import { acceptsEventStream } from "./protocol/negotiation.ts";
import type { ServerRecord } from "./server-directory.ts";
import type { Session } from "./session-store.ts";

/** This transport's own protocol version. */
const LEGACY_VERSION = "2024-11-05";
/** On shutdown, calls still running get this long to finish before they are cancelled. */
const SHUTDOWN_GRACE_MS = 5000;

/** Route options for the stream: @fastify/sse writes the events; the data are JSON text already. */
export const STREAM_ROUTE_SSE = { kind: "manual", serializer: String } as const;

/** Where the client POSTs: next to the stream (/<slug>/messages, or /messages when host-routed). */
export function messagesPath(urls: ResourceUrls): string {
  return new URL(urls.resource).pathname.replace(/\/mcp$/, "/messages");
}

/**
 * A client that asked for 2024-11-05 is answered in it: what this server sends is the same
 * messages (newer fields are ignored by older clients). The session keeps the version
 * negotiated for Streamable HTTP, which steers only that transport's streams.
 */
export function inLegacyVersion(response: JsonRpcResponse, requested: unknown): JsonRpcResponse {
  if (requested !== LEGACY_VERSION || !("result" in response)) return response;
  return { ...response, result: { ...response.result, protocolVersion: LEGACY_VERSION } };
}

// ---- The steps of this transport, besides the endpoint's own. ----

/** The transport is per server, off by default: 404 as if the route were not there. */
function checkEnabled(server: ServerRecord): void {
  if (!server.legacySse) {
    throw new EndpointRefusal(
      404,
      JSONRPC_ERRORS.serverError,
      `the server ${server.slug} does not serve the legacy HTTP+SSE transport; use its Streamable HTTP endpoint (/mcp)`,
    );
  }
}

/** The stream a POST names with ?sessionId=: 400 without one, 404 for one that ended or is someone else's. */
async function checkStream(
  streams: LegacyStreams,
  server: ServerRecord,
  caller: Caller,
  request: FastifyRequest,
): Promise<LegacyStream> {
  const id = (request.query as { sessionId?: unknown } | undefined)?.sessionId;
  if (typeof id !== "string" || id === "") {
    throw new EndpointRefusal(400, JSONRPC_ERRORS.serverError, "send the sessionId of the stream's endpoint event");
  }
  const stream = await streams.find(id);
  if (!stream || stream.serverId !== server.id || stream.principal !== caller.rateKey) {
    throw new EndpointRefusal(404, JSONRPC_ERRORS.serverError, "session not found; open a new stream");
  }
  return stream;
}

/** After initialize, the stream's MCP session: 400 before it, 404 once it expired. */
async function checkSession(context: EndpointContext, stream: LegacyStream, id?: RequestId): Promise<Session> {
  if (!stream.sessionId) {
    throw new EndpointRefusal(
      400,
      JSONRPC_ERRORS.serverError,
      "initialize the session first",
      id === undefined ? {} : { id },
    );
  }
  const session = await context.deps.sessions.get(stream.sessionId);
  if (!session) throw new EndpointRefusal(404, JSONRPC_ERRORS.serverError, "session not found; open a new stream");
  return session;
}

// ---- The transport. ----

interface Running {
  sessionId: string;
  requestId: RequestId;
  done: Promise<void>;
}

export class LegacySse {
  readonly #context: EndpointContext;
  readonly #streams: LegacyStreams;
  readonly #running = new Set<Running>();

  constructor(context: EndpointContext) {
    this.#context = context;
    this.#streams = new LegacyStreams(context.deps.bus, context.deps.sessions);
    // A server deleted, paused or switched off: the streams this node holds for it end.
    context.deps.directory.onChange((change) => {
      if (!this.#streams.holds(change.serverId)) return;
      void context.deps.directory
        .bySlug(change.slug)
        .then((server) => {
          if (!server || server.id !== change.serverId || server.status === "paused" || !server.legacySse)
            return this.#streams.endServer(change.serverId);
        })
        .catch(() => {});
    });
  }

  /** GET /<slug>/sse: the stream, open until the client goes away (or this node shuts down). */
  openStream: EndpointHandler = async (context, server, request, reply, urls, note) => {
    checkEnabled(server);
    checkServing(server);
    checkOrigin(context, server, request);
    const caller = await checkCaller(context, server, request, urls);
    note.caller = caller.label;
    note.rpc = "legacy-stream";
    if (!acceptsEventStream(request.headers.accept))
      throw new EndpointRefusal(406, JSONRPC_ERRORS.serverError, "Accept must list text/event-stream");

    const sse = reply.sse;
    let gone = () => {};
    const closed = new Promise<void>((resolve) => (gone = resolve));
    sse.onClose(gone);
    // Events go out one at a time, in the order they arrived.
    let writing = Promise.resolve();
    const write = (json: string) => {
      writing = writing.then(() => sse.send({ event: "message", data: json })).catch(() => {});
    };
    const stream = await this.#streams.open({ serverId: server.id, principal: caller.rateKey }, write, () =>
      sse.close(),
    );
    try {
      // A client gone before its first event is no error of ours.
      const endpoint = { event: "endpoint", data: `${messagesPath(urls)}?sessionId=${stream.id}` };
      const sent =
        sse.isConnected &&
        (await sse.send(endpoint).then(
          () => true,
          () => false,
        ));
      if (sent) await closed;
    } finally {
      await stream.release();
    }
  };

  /** POST /<slug>/messages?sessionId=: one JSON-RPC message, accepted with 202; answers go on the stream. */
  postMessage: EndpointHandler = async (context, server, request, reply, urls, note) => {
    const { relay } = context.deps;
    checkEnabled(server);
    checkServing(server);
    checkOrigin(context, server, request);
    const caller = await checkCaller(context, server, request, urls);
    note.caller = caller.label;
    const stream = await checkStream(this.#streams, server, caller, request);
    const message = checkMessage(request.body);

    if (message.kind === "request" && message.message.method === "initialize") {
      note.rpc = "initialize";
      await this.#initialize(server, caller, stream, message.message);
      await reply.code(202).send();
      return;
    }
    const session = await checkSession(context, stream, message.kind === "request" ? message.message.id : undefined);
    if (message.kind === "notification") {
      note.rpc = message.message.method;
      const params = message.message.params as { requestId?: RequestId; reason?: string } | undefined;
      if (message.message.method === "notifications/cancelled" && params?.requestId !== undefined) {
        await relay.cancel(
          session.id,
          params.requestId,
          String(params.reason ?? "cancelled by the client"),
          request.id,
        );
      }
    } else if (message.kind === "response") {
      note.rpc = "response";
      await relay.deliver(session.id, message.message, request.id);
    } else {
      note.rpc = message.message.method;
      checkToolScopes(context, server, caller, message.message, urls);
      await checkLimits(context, server, caller, message.message);
      this.#run(server, session, caller, stream.id, message.message, request.log);
    }
    await reply.code(202).send();
  };

  async #initialize(server: ServerRecord, caller: Caller, stream: LegacyStream, rpc: JsonRpcRequest): Promise<void> {
    if (stream.sessionId) {
      throw new EndpointRefusal(
        400,
        JSONRPC_ERRORS.invalidRequest,
        "this stream's session is already initialized; open a new stream for another",
        { id: rpc.id },
      );
    }
    const { session, response } = await openSession(this.#context, server, caller, rpc);
    await this.#streams.link(stream.id, session.id);
    await this.#streams.send(stream.id, inLegacyVersion(response, rpc.params?.protocolVersion));
  }

  /** A request runs after its POST was answered: the client may POST again meanwhile (a sampling answer). */
  #run(
    server: ServerRecord,
    session: Session,
    caller: Caller,
    streamId: string,
    rpc: JsonRpcRequest,
    log: FastifyBaseLogger,
  ): void {
    // What the call sends goes out in order, its answer last.
    let sending = Promise.resolve();
    const responder: MethodContext["responder"] = {
      send: (message) => {
        const sent = sending.then(() => this.#streams.send(streamId, message));
        // A message lost (the Bus is down) does not hold back the ones after it; the caller hears of it.
        sending = sent.catch(() => {});
        return sent;
      },
    };
    const running: Running = {
      sessionId: session.id,
      requestId: rpc.id,
      done: answerRequest(this.#context, server, session, caller, rpc, responder, log)
        .then((answer) => responder.send(answer as unknown as Record<string, unknown>))
        .catch((error: unknown) =>
          log.warn({ err: error, server: server.slug, rpc: rpc.method }, "a legacy SSE answer was not delivered"),
        )
        .finally(() => this.#running.delete(running)),
    };
    this.#running.add(running);
  }

  /** Shutdown: calls running here finish (or are cancelled after a grace period), then the streams end. */
  async close(): Promise<void> {
    const finished = () => Promise.all([...this.#running].map((running) => running.done));
    if (this.#running.size > 0 && !(await settlesWithin(finished(), SHUTDOWN_GRACE_MS))) {
      for (const running of this.#running) {
        await this.#context.deps.relay
          .cancel(running.sessionId, running.requestId, "the node is shutting down")
          .catch(() => {});
      }
      await settlesWithin(finished(), 1000);
    }
    await this.#streams.close();
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
