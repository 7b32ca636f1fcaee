// A small load loop for failure drills: workers call their targets back to back and record every
// outcome with its timings, so that a drill can ask afterwards which calls failed, when, with what,
// and how long a target took to answer again. Targets are plain functions; `mcpToolTarget` is one
// that calls a tool over real MCP Streamable HTTP.
import { ACCEPT_BOTH, messagesOf, parseSse } from "../../support/mcp.ts";

/**
 * How a call ended. `tool_error`: a JSON-RPC result with isError (how the runtime reports a
 * sandbox failure); `rpc_error`: a JSON-RPC error object; `http_error`: any other status or body;
 * `wrong`: a successful result that is not the expected one; `timeout`: no answer in time (a
 * hang); `network`: the connection failed.
 */
export type OutcomeKind = "ok" | "tool_error" | "rpc_error" | "http_error" | "wrong" | "timeout" | "network";

export interface CallRecord {
  target: string;
  /** performance.now() of this process. */
  startedAt: number;
  endedAt: number;
  kind: OutcomeKind;
  status: number | undefined;
  /** The error's text (a tool error's text, a JSON-RPC error message, the start of an HTTP body). */
  detail: string;
}

export type CallResult = Pick<CallRecord, "kind" | "status" | "detail">;

export interface LoadTarget {
  name: string;
  call(signal: AbortSignal): Promise<CallResult>;
}

export interface CallLoopOptions {
  /** Callers per target, each waiting for its answer before the next call. */
  workersPerTarget?: number;
  /** Pause between one caller's calls. */
  pauseMs?: number;
  /** A call without an answer by then is a `timeout`. */
  timeoutMs?: number;
}

export interface CallLoop {
  readonly records: CallRecord[];
  /** Lets every worker finish its current call, then resolves. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function startCallLoop(targets: LoadTarget[], options: CallLoopOptions = {}): CallLoop {
  const { workersPerTarget = 1, pauseMs = 0, timeoutMs = 10_000 } = options;
  const records: CallRecord[] = [];
  let stopping = false;
  const worker = async (target: LoadTarget) => {
    while (!stopping) {
      const startedAt = performance.now();
      let result: CallResult;
      try {
        result = await target.call(AbortSignal.timeout(timeoutMs));
      } catch (error) {
        const name = (error as Error)?.name;
        result = {
          kind: name === "TimeoutError" || name === "AbortError" ? "timeout" : "network",
          status: undefined,
          detail: String((error as Error)?.message ?? error),
        };
      }
      records.push({ target: target.name, startedAt, endedAt: performance.now(), ...result });
      if (pauseMs > 0) await sleep(pauseMs);
    }
  };
  const running = targets.flatMap((target) => Array.from({ length: workersPerTarget }, () => worker(target)));
  return {
    records,
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}

/** The p-th percentile (0-100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const durations = (records: CallRecord[]) => records.map((record) => record.endedAt - record.startedAt);
export const failures = (records: CallRecord[]) => records.filter((record) => record.kind !== "ok");

/** The first call that started at or after `from` and succeeded, for each of `targets` (undefined: none yet). */
export function firstSuccessAfter(records: CallRecord[], targets: string[], from: number): (CallRecord | undefined)[] {
  return targets.map((target) =>
    records
      .filter((record) => record.target === target && record.kind === "ok" && record.startedAt >= from)
      .sort((a, b) => a.endedAt - b.endedAt)
      .at(0),
  );
}

/** The answer to one JSON-RPC POST: the message is the JSON body, or an SSE answer's last message. */
export interface Posted {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC message of any shape.
  message: any;
}

/** One JSON-RPC POST to an MCP endpoint. */
export async function postMessage(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Posted> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
    body: JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC message of any shape.
  let message: any;
  if (type.startsWith("application/json") && text) message = JSON.parse(text);
  else if (type.startsWith("text/event-stream")) message = messagesOf(parseSse(text)).at(-1);
  return { status: response.status, headers: response.headers, text, message };
}
/**
 * Calls `tool` of the MCP endpoint at `url` in one session (opened at the first call, and again
 * after a 404, which is how a server says it forgot a session). `expect` checks a successful
 * result; one that fails the check is `wrong`, with the result as its detail.
 */
export function mcpToolTarget(
  name: string,
  url: string,
  tool: string,
  args: () => Record<string, unknown>,
  expect: (result: { content?: { type: string; text?: string }[] }) => boolean = () => true,
  headers: Record<string, string> = {},
): LoadTarget {
  let session: Record<string, string> | undefined;
  let id = 0;
  const post = (body: unknown, extra: Record<string, string>, signal: AbortSignal) =>
    postMessage(url, body, { ...headers, ...extra }, signal);
  const open = async (signal: AbortSignal) => {
    const initialized = await post(
      {
        jsonrpc: "2.0",
        id: ++id,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "isola-drill", version: "1.0.0" },
        },
      },
      {},
      signal,
    );
    if (initialized.status !== 200 || !initialized.message?.result) return undefined;
    const opened = {
      "mcp-session-id": initialized.headers.get("mcp-session-id") ?? "",
      "mcp-protocol-version": String(initialized.message.result.protocolVersion),
    };
    await post({ jsonrpc: "2.0", method: "notifications/initialized" }, opened, signal);
    return opened;
  };
  return {
    name,
    async call(signal) {
      session ??= await open(signal);
      if (!session) return { kind: "http_error", status: undefined, detail: "initialize failed" };
      const answer = await post(
        { jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: tool, arguments: args() } },
        session,
        signal,
      );
      if (answer.status === 404) session = undefined;
      const message = answer.message;
      if (answer.status !== 200 || !message) {
        return { kind: "http_error", status: answer.status, detail: answer.text.slice(0, 300) };
      }
      if (message.error) return { kind: "rpc_error", status: 200, detail: String(message.error.message) };
      const result = message.result;
      if (result?.isError === true) {
        return { kind: "tool_error", status: 200, detail: String(result.content?.[0]?.text ?? "") };
      }
      if (!expect(result)) return { kind: "wrong", status: 200, detail: JSON.stringify(result).slice(0, 300) };
      return { kind: "ok", status: 200, detail: "" };
    },
  };
}
