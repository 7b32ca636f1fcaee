import { type ServerLogEntry, serverLogLine, serverLogPage } from "@isola/schema";
import type { Command, Context } from "./command.ts";
import { ApiError } from "./errors.ts";
import { readEventStream } from "./event-stream.ts";
import { type ApiClient, path } from "./http.ts";
import { json, when } from "./output.ts";
import { checkSlug } from "./servers.ts";

/** One log line for people: when, level, where from (and which tool), the message, its data and caller. */
export function logLineText(entry: ServerLogEntry): string {
  const where = entry.tool ? `${entry.source}/${entry.tool}` : entry.source;
  const data = entry.data === undefined ? "" : ` ${JSON.stringify(entry.data)}`;
  const caller = entry.caller ? ` (caller: ${entry.caller})` : "";
  return `${when(entry.at)}  ${entry.level.padEnd(7)}  ${where}  ${entry.message}${data}${caller}\n`;
}

/** A log event's line; undefined for one this version cannot read (skipped, not fatal). */
function entryOf(id: string, data: string): ServerLogEntry | undefined {
  try {
    const line = serverLogLine.safeParse(JSON.parse(data));
    return line.success ? { id, ...line.data } : undefined;
  } catch {
    return undefined;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Retrying will not help: the server is gone, or the credentials or the request are refused. */
const final = (error: unknown) => error instanceof ApiError && error.status < 500 && error.status !== 429;

/**
 * Prints every line of the stream until Ctrl-C. When the connection drops (a restart, a proxy,
 * the network), it reconnects with the last id seen, so that no line is missed or printed twice.
 */
async function follow(ctx: Context, api: ApiClient, slug: string, lines: number): Promise<void> {
  const stop = new AbortController();
  void ctx.io.interrupted().then(() => stop.abort());
  let lastId: string | undefined;
  let connected = false;
  let retries = 0;
  while (!stop.signal.aborted) {
    try {
      const body = await api.stream(path`/servers/${slug}/logs`, {
        query: { limit: lines },
        lastEventId: lastId,
        signal: stop.signal,
      });
      if (retries > 0) ctx.io.err("isola: reconnected to the log stream\n");
      connected = true;
      retries = 0;
      for await (const event of readEventStream(body)) {
        if (event.event !== "log" || !event.id) continue;
        const entry = entryOf(event.id, event.data);
        if (entry) ctx.io.out(ctx.json ? `${JSON.stringify(entry)}\n` : logLineText(entry));
        lastId = event.id;
      }
    } catch (error) {
      if (stop.signal.aborted) return;
      // Never connected at all: say why and stop (a typo in the URL should not spin forever).
      if (!connected || final(error)) throw error;
    }
    if (stop.signal.aborted) return;
    if (retries === 0) ctx.io.err("isola: the log stream was cut; reconnecting\n");
    await pause(Math.min(250 * 2 ** retries, 5000), stop.signal);
    retries++;
  }
}

export const logs: Command = {
  name: "logs",
  args: ["S"],
  options: {
    follow: { type: "boolean", short: "f" },
    lines: { type: "string", short: "n" },
  },
  synopsis: "[--follow] [--lines N]",
  summary: "A server's live log: tool output, errors, limits, deploys. --follow keeps printing new lines until Ctrl-C.",
  details: [
    "Prints the last --lines lines (default 100, at most 1000: the log keeps the last 1000).",
    "--follow then prints each new line as it comes, reconnecting (without gaps or repeats) when the",
    "connection drops, until Ctrl-C. --json prints the API's JSON; with --follow, one JSON object per line.",
  ].join("\n"),
  async run(ctx, [slug = ""], flags) {
    const lines = flags.integer("lines", 1, 1000) ?? 100;
    checkSlug(slug);
    const api = await ctx.api();
    if (flags.boolean("follow")) return follow(ctx, api, slug, lines);
    const page = await api.call("GET", path`/servers/${slug}/logs`, serverLogPage, { query: { limit: lines } });
    if (ctx.json) return ctx.io.out(json(page.raw));
    ctx.io.out(
      page.data.items.length === 0 ? `Nothing in the log of ${slug} yet.\n` : page.data.items.map(logLineText).join(""),
    );
  },
};
