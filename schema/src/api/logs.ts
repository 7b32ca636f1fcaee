import { z } from "zod";

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
