// The benchmark's side of the load generator (load-worker.ts, a child process).
import { type ChildProcess, fork } from "node:child_process";

export interface LoadJob {
  /** http://127.0.0.1:PORT */
  origin: string;
  /** Each request takes the next route, round-robin: a path and its headers (session, credentials). */
  routes: { path: string; headers: Record<string, string> }[];
  connections: number;
  seconds: number;
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
