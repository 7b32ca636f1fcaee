import type { SSEReplyInterface } from "@fastify/sse";
import {
  type Bus,
  BusUnavailableError,
  LOG_ENTRY_ID,
  logsQuery,
  type ServerLogEntry,
  serverLogPage,
  serverSlug,
} from "@isola/schema";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ControlDeps } from "../deps.ts";
import { openStreams } from "../http/open-streams.ts";
import { problem } from "../http/problems.ts";
import { addRoute, answeredAsStream, type RouteContext } from "../http/route.ts";
import { loadServer } from "../servers/load.ts";
import { followLog, type LogPage, readAfter, readTail } from "./log-reader.ts";

/** How often an open stream looks for new lines (the Bus has no notification for appends). */
const FOLLOW_INTERVAL_MS = 250;

/** The id a reconnecting client sent, if any; a malformed one is a 400 (resuming from a guess could skip lines). */
function lastEventId(request: FastifyRequest): string | undefined {
  const header = request.headers["last-event-id"];
  if (header === undefined || header === "") return undefined;
  if (typeof header === "string" && LOG_ENTRY_ID.test(header)) return header;
  throw problem("invalid-request", "Last-Event-ID is not an id this stream sent (such as 1735689600000-0)");
}

interface Stream {
  serverId: string;
  sse: SSEReplyInterface;
  request: FastifyRequest;
  reply: FastifyReply;
  /** What to send first: the tail, or the first lines after the id the client resumes from. */
  page: LogPage;
  after: string | undefined;
  follow: boolean;
}

/** `promise`, or nothing once `signal` aborts: a wait that must not outlive a stream. */
function unlessAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Reads the Bus, answering 503 while it is unreachable. */
async function fromBus(read: () => Promise<LogPage>): Promise<LogPage> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof BusUnavailableError) throw problem("unavailable", "the live log is unreachable right now");
    throw error;
  }
}

/** The JSON answer: the last `limit` lines, or the first `limit` lines after `after`; 503 while the Bus is down. */
export async function readLogPage(bus: Bus, serverId: string, query: { limit: number; after?: string | undefined }) {
  const page = await fromBus(() =>
    query.after ? readAfter(bus, serverId, query.after, query.limit) : readTail(bus, serverId, query.limit),
  );
  return { items: page.entries, lastId: page.lastId ?? query.after ?? null };
}

export function logRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db, bus } = deps;
  const streams = openStreams(app);

  /** Sends `page`, then follows the log until the client leaves, the app closes or (follow=false) it is caught up. */
  async function stream({ serverId, sse, request, reply, page, after, follow }: Stream): Promise<void> {
    const left = new AbortController();
    sse.onClose(() => left.abort());
    const signal = AbortSignal.any([left.signal, streams.closing]);
    // A send waiting for a slow client to drain must not outlive the stream.
    const send = ({ id, ...line }: ServerLogEntry) => unlessAborted(sse.send({ id, event: "log", data: line }), signal);
    // Headers now, so that a client sees the stream open even when the log is quiet.
    sse.sendHeaders();
    reply.raw.flushHeaders();
    try {
      for (const entry of page.entries) await send(entry);
      const lines = followLog(bus, serverId, page.lastId ?? after, {
        intervalMs: FOLLOW_INTERVAL_MS,
        signal,
        untilCaughtUp: !follow,
      });
      for await (const entry of lines) {
        if (signal.aborted || !sse.isConnected) break;
        await send(entry);
      }
    } catch (error) {
      // Mid-stream there is no status left to answer: end it; the client resumes with Last-Event-ID.
      if (sse.isConnected) request.log.warn({ err: (error as Error).message }, "the live log stream failed");
    }
    if (streams.closing.aborted && sse.isConnected) {
      // Shutting down: end the response and the connection, which keep-alive would otherwise hold open.
      sse.close();
      const socket = request.raw.socket as { end?: () => void } | undefined;
      socket?.end?.();
    }
  }

  addRoute(app, context, {
    method: "GET",
    url: "/servers/:slug/logs",
    operationId: "getLogs",
    summary:
      "A server's live log (its last 1000 lines): JSON, or Server-Sent Events with Accept: text/event-stream (resumable with Last-Event-ID)",
    tag: "observe",
    access: "servers:read",
    params: z.object({ slug: serverSlug }),
    query: logsQuery,
    status: 200,
    response: serverLogPage,
    problems: ["not-found", "unavailable"],
    sse: true,
    async handler({ params, query, request, reply }) {
      const server = await loadServer(db, request, params.slug, "servers:read");
      const sse = (reply as { sse?: SSEReplyInterface }).sse;
      if (!sse) return readLogPage(bus, server.id, query);
      const after = lastEventId(request) ?? query.after;
      // Resuming: every line after the id (a page now, the rest as the stream follows). Else the tail.
      const page = await fromBus(() =>
        after ? readAfter(bus, server.id, after, 500) : readTail(bus, server.id, query.limit),
      );
      await streams.run(
        stream({ serverId: server.id, sse, request, reply, page, after, follow: query.follow === "true" }),
      );
      return answeredAsStream();
    },
  });
}
