import { z } from "zod";
import { LOG_ENTRY_ID } from "../bus.ts";

/** One line of a server's live log, as the runtime writes it to the Bus and the logs API streams it. */
export const serverLogLine = z.object({
  at: z.iso.datetime(),
  level: z.enum(["debug", "info", "warning", "error"]),
  /** Where it came from: the tool's code, a limit, a deploy, the runtime. */
  source: z.enum(["code", "limit", "deploy", "runtime"]),
  message: z.string(),
  data: z.unknown().optional(),
  tool: z.string().optional(),
  caller: z.string().optional(),
});
export type ServerLogLine = z.infer<typeof serverLogLine>;

/** The last lines of each server, in the Bus: any node writes, the logs API tails them. */
export const SERVER_LOG = { maxLength: 1000, ttlMs: 7 * 24 * 3_600_000 };
export const serverLogKey = (serverId: string) => `logs:${serverId}`;

/**
 * GET /servers/{slug}/logs. With `Accept: text/event-stream`: Server-Sent Events, one `log`
 * event per line whose id is the line's id (resume with Last-Event-ID); the last `limit` lines
 * first (or every line after Last-Event-ID or `after`), then new lines as they come unless
 * follow=false. Otherwise JSON: the last `limit` lines, or with `after` the first `limit` lines
 * after it (so that a script paging with `after` misses none).
 */
export const logsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(SERVER_LOG.maxLength).default(100),
    after: z.string().regex(LOG_ENTRY_ID, "a log line id such as 1735689600000-0").optional(),
    follow: z.enum(["true", "false"]).default("true"),
  })
  .strict();

/** A line with its id in the log (increasing; also the SSE event id). */
export const serverLogEntry = serverLogLine.extend({ id: z.string() });

export const serverLogPage = z.object({
  items: z.array(serverLogEntry),
  /** Pass it as `after` to read the lines that follow these (null: the log is empty and no `after` was sent). */
  lastId: z.string().nullable(),
});

export type LogsQuery = z.infer<typeof logsQuery>;
export type ServerLogEntry = z.infer<typeof serverLogEntry>;
