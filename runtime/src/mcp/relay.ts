import { randomBytes } from "node:crypto";
import type { Bus } from "@isola/schema";
import { JSONRPC_ERRORS, JsonRpcError, type JsonRpcResponse, type RequestId } from "./protocol/jsonrpc.ts";

const REPLIES = "mcp.replies";
const CANCELS = "mcp.cancels";

/** Where the relay tells what reached this node from another (a pino logger fits). */
export interface RelayLog {
  info(fields: Record<string, unknown>, message: string): void;
}

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * What crosses nodes within a session. A client answers a sampling or elicitation request
 * with a new POST, and cancels with a notification: either may land on any node. This node
 * keeps the calls it runs and the requests it waits on; one subscription per channel per node
 * brings it what was posted elsewhere.
 */
export class SessionRelay {
  readonly #bus: Bus;
  readonly #waiting = new Map<string, Waiting>();
  readonly #running = new Map<string, AbortController>();
  readonly #unsubscribe: (() => Promise<void>)[] = [];
  readonly #log: RelayLog | undefined;

  constructor(bus: Bus, log?: RelayLog) {
    this.#bus = bus;
    this.#log = log;
  }

  async start(): Promise<void> {
    this.#unsubscribe.push(
      await this.#bus.subscribe(REPLIES, (message) => {
        const { sessionId, response, originRequestId } = JSON.parse(message) as {
          sessionId: string;
          response: JsonRpcResponse;
          originRequestId?: string;
        };
        // Only the node whose call waits answers it; the X-Request-Id of the POST that carried it goes in its log.
        if (this.#answer(sessionId, response))
          this.#log?.info({ originRequestId, rpcId: response.id }, "client answer relayed from another node");
      }),
      await this.#bus.subscribe(CANCELS, (message) => {
        const { sessionId, requestId, reason, originRequestId } = JSON.parse(message) as {
          sessionId: string;
          requestId: RequestId;
          reason: string;
          originRequestId?: string;
        };
        const running = this.#running.get(`${sessionId}\u0000${requestId}`);
        if (!running) return;
        running.abort(reason);
        this.#log?.info({ originRequestId, rpcId: requestId }, "cancel relayed from another node");
      }),
    );
  }

  /** Sends a request to the client (through `send`) and waits for its answer, wherever it is posted. */
  async ask(
    sessionId: string,
    send: (message: Record<string, unknown>) => Promise<void>,
    method: string,
    params: Record<string, unknown>,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<unknown> {
    const id = `isola-${randomBytes(9).toString("base64url")}`;
    const key = `${sessionId}\u0000${id}`;
    const answered = new Promise<unknown>((resolve, reject) => this.#waiting.set(key, { resolve, reject }));
    const timer = setTimeout(
      () =>
        this.#waiting.get(key)?.reject(new Error(`the client did not answer ${method} within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const onAbort = () => this.#waiting.get(key)?.reject(new Error("the call was cancelled"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await send({ jsonrpc: "2.0", id, method, params });
      return await answered;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      this.#waiting.delete(key);
    }
  }

  /**
   * A response the client POSTed: resolve it here, or tell the other nodes, with the request id
   * of the POST that carried it (`originRequestId`), so that the answering node's log names it.
   */
  async deliver(sessionId: string, response: JsonRpcResponse, originRequestId?: string): Promise<void> {
    if (response.id !== undefined && this.#waiting.has(`${sessionId}\u0000${response.id}`)) {
      this.#answer(sessionId, response);
      return;
    }
    await this.#bus.publish(REPLIES, JSON.stringify({ sessionId, response, originRequestId }));
  }

  /** Whether a call on this node was waiting for that response. */
  #answer(sessionId: string, response: JsonRpcResponse): boolean {
    if (response.id === undefined) return false;
    const waiting = this.#waiting.get(`${sessionId}\u0000${response.id}`);
    if (!waiting) return false;
    if ("result" in response) waiting.resolve(response.result);
    else waiting.reject(new JsonRpcError(response.error.code ?? JSONRPC_ERRORS.internalError, response.error.message));
    return true;
  }

  /** Makes a running request cancellable from any node; returns the function that forgets it. */
  track(sessionId: string, requestId: RequestId, controller: AbortController): () => void {
    const key = `${sessionId}\u0000${requestId}`;
    this.#running.set(key, controller);
    return () => {
      if (this.#running.get(key) === controller) this.#running.delete(key);
    };
  }

  async cancel(sessionId: string, requestId: RequestId, reason: string, originRequestId?: string): Promise<void> {
    const local = this.#running.get(`${sessionId}\u0000${requestId}`);
    if (local) {
      local.abort(reason);
      return;
    }
    await this.#bus.publish(CANCELS, JSON.stringify({ sessionId, requestId, reason, originRequestId }));
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) await unsubscribe();
    for (const waiting of this.#waiting.values()) waiting.reject(new Error("the node is shutting down"));
  }
}
