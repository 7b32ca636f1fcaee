// The benchmark's side of the load generator (load-worker.ts, a child process).
import { type ChildProcess, fork } from "node:child_process";
import type { FailureKind } from "./load-answer.ts";

export interface LoadRoute {
  path: string;
  /** Session, credentials; for a `newSession` route, credentials only. */
  headers: Record<string, string>;
  /** The JSON-RPC request; by default tools/call of the trivial tool. */
  method?: string;
  params?: unknown;
  /** Text the answer must contain; by default EXPECTED_TEXT. */
  expect?: string;
  /** What the figures by kind call it (open-loop jobs). */
  kind?: string;
  /** Open-loop jobs: each time a new session (initialize, the request, DELETE), not one request. */
  newSession?: boolean;
}

export interface LoadJob {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** Each request takes the next route, round-robin. */
  routes: LoadRoute[];
  /** Closed loop: requests in flight. Open loop: the most in flight before a send counts as failed. */
  connections: number;
  seconds: number;
  /** Requests per second, sent on schedule whatever the answers take (open loop, soak-open-loop.ts). */
  rate?: number;
  /** Open loop: latency figures per window of this many seconds, by send time. */
  windowSeconds?: number;
}

export interface LatencyFigures {
  calls: number;
  failures: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  /** Calls answered 200 with the tool's result. */
  calls: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Anything else: other statuses, JSON-RPC or tool errors, socket errors, timeouts. */
  failures: number;
  firstFailure?: string;
  /** Failures by kind, each with its first sample. */
  failureKinds?: Record<string, FailureKind>;
  /** Open loop: latency by window of `windowSeconds` and by route kind. */
  windows?: LatencyFigures[];
  kinds?: Record<string, LatencyFigures>;
}

/** What the trivial tool answers to `{ name: "bench" }` on every target. */
export const EXPECTED_TEXT = "Hello, bench!";

/** The headers every MCP POST carries. */
export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
} as const;

export class LoadGenerator {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(result: LoadResult): void; reject(error: Error): void }>();
  #next = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (message: { id: number; result?: LoadResult; error?: string }) => {
      const waiting = this.#pending.get(message.id);
      if (!waiting) return;
      this.#pending.delete(message.id);
      if (message.result) waiting.resolve(message.result);
      else waiting.reject(new Error(`load generator: ${message.error}`));
    });
    child.on("exit", (code) => {
      for (const waiting of this.#pending.values()) waiting.reject(new Error(`load generator exited (${code})`));
      this.#pending.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    // Its own flags: a --cpu-prof given to the benchmark profiles the servers, not the load.
    const child = fork(new URL("./load-worker.ts", import.meta.url), { execArgv: [], stdio: "inherit" });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
    });
    return new LoadGenerator(child);
  }

  run(job: LoadJob): Promise<LoadResult> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, job });
    });
  }

  close(): void {
    this.#child.kill();
  }
}
