import {
  type Bus,
  BusUnavailableError,
  SERVER_LOG,
  type ServerLogEntry,
  serverLogKey,
  serverLogLine,
} from "@isola/schema";

// Reading a server's live log from the Bus: the tail, a page after an id, and following it.

const PAGE = 500;

/** An entry as the API shows it; undefined for a value that is not a log line (skipped, its id still counts). */
function entryOf(id: string, value: string): ServerLogEntry | undefined {
  try {
    const line = serverLogLine.safeParse(JSON.parse(value));
    return line.success ? { id, ...line.data } : undefined;
  } catch {
    return undefined;
  }
}

export interface LogPage {
  entries: ServerLogEntry[];
  /** The id of the last entry read (even one skipped), to continue after; undefined when none was read. */
  lastId: string | undefined;
}

function pageOf(raw: { id: string; value: string }[]): LogPage {
  const entries: ServerLogEntry[] = [];
  for (const { id, value } of raw) {
    const entry = entryOf(id, value);
    if (entry) entries.push(entry);
  }
  return { entries, lastId: raw.at(-1)?.id };
}

/** The last `limit` lines (the log holds at most SERVER_LOG.maxLength, so reading it whole is bounded). */
export async function readTail(bus: Bus, serverId: string, limit: number): Promise<LogPage> {
  const raw = await bus.readAfter(serverLogKey(serverId), undefined, SERVER_LOG.maxLength);
  const page = pageOf(raw);
  return { entries: page.entries.slice(-limit), lastId: page.lastId };
}

/** The first `limit` lines after `afterId`. */
export async function readAfter(bus: Bus, serverId: string, afterId: string, limit: number): Promise<LogPage> {
  return pageOf(await bus.readAfter(serverLogKey(serverId), afterId, limit));
}

export interface FollowOptions {
  /** How often to look for new lines. */
  intervalMs: number;
  signal: AbortSignal;
  /** Stop once every line there is has been read, instead of waiting for new ones. */
  untilCaughtUp?: boolean;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Every line after `afterId` (all the log holds when undefined), then each new line as it is
 * appended, until `signal` aborts (or, with `untilCaughtUp`, until there is nothing newer). Polls the Bus: appends publish nothing. While the Bus is
 * unreachable it keeps trying; any other failure ends the stream (the client reconnects with
 * the last id it saw).
 */
export async function* followLog(
  bus: Bus,
  serverId: string,
  afterId: string | undefined,
  options: FollowOptions,
): AsyncGenerator<ServerLogEntry> {
  const key = serverLogKey(serverId);
  let after = afterId;
  while (!options.signal.aborted) {
    let raw: { id: string; value: string }[];
    try {
      raw = await bus.readAfter(key, after, PAGE);
    } catch (error) {
      if (!(error instanceof BusUnavailableError)) throw error;
      await pause(options.intervalMs * 4, options.signal);
      continue;
    }
    const page = pageOf(raw);
    for (const entry of page.entries) {
      if (options.signal.aborted) return;
      yield entry;
    }
    after = page.lastId ?? after;
    if (raw.length < PAGE) {
      if (options.untilCaughtUp) return;
      await pause(options.intervalMs, options.signal);
    }
  }
}
