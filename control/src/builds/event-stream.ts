import type { SSEReplyInterface } from "@fastify/sse";
import { type BuildStatus, type Bus, type Database, FINISHED_BUILD_STATUSES } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { buildEventsChannel, readEvents } from "./build-store.ts";

// A build's events as Server-Sent Events: the stored history after the client's last seq, then
// each new event as it is stored, until the build's last one. The table is the source; the Bus
// announcement only wakes the stream sooner (without it, it looks every second).

/** The events after which a build has nothing more to say. */
export const LAST_EVENTS: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled"]);

/** Whether the build's last event is at or before `seq` (a client that has it will get nothing more). */
export async function endedBy(
  db: Kysely<Database>,
  build: { id: string; status: BuildStatus },
  seq: number,
): Promise<boolean> {
  // The status changes before the last event is written: a finished status alone is not enough.
  if (!FINISHED_BUILD_STATUSES.has(build.status)) return false;
  const last = await db
    .selectFrom("build_events")
    .select("seq")
    .where("build_id", "=", build.id)
    .where("seq", "<=", seq)
    .where("type", "in", [...LAST_EVENTS])
    .executeTakeFirst();
  return last !== undefined;
}

const POLL_MS = 1000;
const PAGE = 500;

export interface BuildStream {
  db: Kysely<Database>;
  bus: Bus;
  buildId: string;
  sse: SSEReplyInterface;
  request: FastifyRequest;
  after: number;
  /** Aborted when the app closes. */
  closing: AbortSignal;
}

export async function streamBuildEvents({
  db,
  bus,
  buildId,
  sse,
  request,
  after,
  closing,
}: BuildStream): Promise<void> {
  const left = new AbortController();
  sse.onClose(() => left.abort());
  const signal = AbortSignal.any([left.signal, closing]);
  let wake: () => void = () => {};
  const unsubscribe = await bus.subscribe(buildEventsChannel(buildId), () => wake()).catch(() => undefined);
  sse.sendHeaders();
  request.raw.socket?.setNoDelay?.(true);
  let last = after;
  let ended = false;
  try {
    while (!ended && !signal.aborted && sse.isConnected) {
      const events = await readEvents(db, buildId, last, PAGE);
      for (const event of events) {
        await sse.send({ id: String(event.seq), event: event.type, data: event });
        last = event.seq;
        if (LAST_EVENTS.has(event.type)) ended = true;
      }
      if (ended || events.length === PAGE) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          wake = () => {};
          resolve();
        }
        wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  } catch (error) {
    // Mid-stream there is no status left to answer: end it; the client resumes with Last-Event-ID.
    if (sse.isConnected) request.log.warn({ err: (error as Error).message }, "a build's event stream failed");
  } finally {
    await unsubscribe?.().catch(() => {});
  }
  if (sse.isConnected) {
    sse.close();
    if (closing.aborted) (request.raw.socket as { end?: () => void } | undefined)?.end?.();
  }
}
