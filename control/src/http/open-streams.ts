import type { FastifyInstance } from "fastify";

/**
 * The event streams a route group has open. When the app closes they are told to end (`closing`)
 * and waited for, before the server waits for its connections: a stream left open would hold
 * the shutdown until its grace period ran out.
 */
export interface OpenStreams {
  /** Aborted when the app closes. */
  closing: AbortSignal;
  /** Runs a stream to its end, counted as open meanwhile. */
  run(stream: Promise<void>): Promise<void>;
}

export function openStreams(app: FastifyInstance): OpenStreams {
  const closing = new AbortController();
  const open = new Set<Promise<void>>();
  app.addHook("preClose", async () => {
    closing.abort();
    await Promise.allSettled(open);
  });
  return {
    closing: closing.signal,
    async run(stream: Promise<void>): Promise<void> {
      open.add(stream);
      try {
        await stream;
      } finally {
        open.delete(stream);
      }
    },
  };
}
