import { sleep } from "../../support/wait.ts";
import { type CallResult, type LoadTarget, type OutcomeKind, postMessage } from "./call-loop.ts";
import { NODE_HEADER } from "./node-tags.ts";

// An MCP client as real ones behave across a failing fleet: a tool call that fails (no answer,
// a 5xx, a 404 for a session the server forgot) is tried again, on a new session when the old one
// is gone, and only an answer counts. Each logical call is one record of the call loop; every
// attempt, with the node that answered it (the balancer's tag, or the node the client is pinned
// to), lands in `attempts`, so that a drill can check that each failure was retried elsewhere.

export interface Attempt {
  target: string;
  /** The logical call this attempt belongs to (per target, from 1). */
  call: number;
  /** Which node answered (x-drill-node), or the pinned node; undefined when nothing answered. */
  node: string | undefined;
  step: "initialize" | "tools/call";
  kind: OutcomeKind;
  status: number | undefined;
  detail: string;
  startedAt: number;
  endedAt: number;
}

export interface RetryingTargetOptions {
  name: string;
  /** The MCP endpoint; a function, so that a pinned client can follow its node to a new port. */
  url: () => string;
  tool: string;
  args: () => Record<string, unknown>;
  /** Checks a successful result: one that fails it is `wrong` and not retried. */
  expect?: (result: { content?: { type: string; text?: string }[] }) => boolean;
  headers?: Record<string, string>;
  /** The node every request goes to, when the client talks to one node directly. */
  pinnedTo?: string;
  /** Attempts per logical call. */
  maxAttempts?: number;
  backoffMs?: number;
  /** Shared by every target of a drill: all attempts, in the order they ended. */
  attempts: Attempt[];
}

/** An answer, or none (status undefined: the connection failed), and the node that gave it. */
interface NodeAnswer {
  status: number | undefined;
  node: string | undefined;
  headers: Headers | undefined;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON-RPC message of any shape.
  message: any;
}

export function retryingToolTarget(options: RetryingTargetOptions): LoadTarget {
  const { name, tool, attempts, maxAttempts = 6, backoffMs = 50 } = options;
  const expectResult = options.expect ?? (() => true);
  let session: Record<string, string> | undefined;
  let id = 0;
  let calls = 0;

  const post = async (body: unknown, extra: Record<string, string>, signal: AbortSignal): Promise<NodeAnswer> => {
    try {
      const answer = await postMessage(options.url(), body, { ...options.headers, ...extra }, signal);
      return { ...answer, node: answer.headers.get(NODE_HEADER) ?? options.pinnedTo };
    } catch (error) {
      if (signal.aborted) throw error;
      // The connection failed or was cut mid-answer (a killed node): no answer, try again.
      return { status: undefined, node: options.pinnedTo, headers: undefined, text: String(error), message: undefined };
    }
  };

  const classify = (answer: NodeAnswer): CallResult => {
    if (answer.status === undefined) return { kind: "network", status: undefined, detail: answer.text.slice(0, 300) };
    if (answer.status !== 200 || !answer.message) {
      return { kind: "http_error", status: answer.status, detail: answer.text.slice(0, 300) };
    }
    if (answer.message.error) return { kind: "rpc_error", status: 200, detail: String(answer.message.error.message) };
    const result = answer.message.result;
    if (result?.isError === true) {
      return { kind: "tool_error", status: 200, detail: String(result.content?.[0]?.text ?? "") };
    }
    if (!expectResult(result)) return { kind: "wrong", status: 200, detail: JSON.stringify(result).slice(0, 300) };
    return { kind: "ok", status: 200, detail: "" };
  };

  const note = (call: number, step: Attempt["step"], answer: NodeAnswer, result: CallResult, startedAt: number) =>
    attempts.push({ target: name, call, node: answer.node, step, ...result, startedAt, endedAt: performance.now() });

  /** A new session; undefined (the failure noted) when the server did not give one. */
  const open = async (call: number, signal: AbortSignal) => {
    const startedAt = performance.now();
    const initialized = await post(
      {
        jsonrpc: "2.0",
        id: ++id,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "isola-drill", version: "1" } },
      },
      {},
      signal,
    );
    if (initialized.status !== 200 || !initialized.message?.result) {
      note(call, "initialize", initialized, classify(initialized), startedAt);
      return undefined;
    }
    const opened = {
      "mcp-session-id": initialized.headers?.get("mcp-session-id") ?? "",
      "mcp-protocol-version": String(initialized.message.result.protocolVersion),
    };
    await post({ jsonrpc: "2.0", method: "notifications/initialized" }, opened, signal);
    return opened;
  };

  return {
    name,
    async call(signal) {
      const call = ++calls;
      let last: CallResult = { kind: "network", status: undefined, detail: "no attempt" };
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        if (attempt > 1) await sleep(backoffMs * attempt);
        session ??= await open(call, signal);
        if (!session) {
          last = { kind: "http_error", status: undefined, detail: "initialize failed" };
          continue;
        }
        const startedAt = performance.now();
        const answer = await post(
          { jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: tool, arguments: options.args() } },
          session,
          signal,
        );
        last = classify(answer);
        note(call, "tools/call", answer, last, startedAt);
        // A server that forgot the session (404) wants a new one; an answer, good or bad, is final.
        if (answer.status === 404) session = undefined;
        if (last.kind === "ok" || last.kind === "tool_error" || last.kind === "wrong") return last;
      }
      return last;
    },
  };
}
