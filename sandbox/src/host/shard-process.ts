import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import type { LogLevel } from "../../guest/runtime/protocol.ts";
import { SandboxError, sandboxError } from "../errors.ts";
import { MessageBatcher, unbatch, type Wire } from "./message-batch.ts";
import {
  type FetchTiming,
  type FromShard,
  type ShardCall,
  type ShardSettings,
  shardArgv,
  type ToShard,
} from "./shard-protocol.ts";

/** What a caller hears while its call runs. */
export interface CallHandlers {
  onLog?(level: LogLevel, message: string, data?: unknown): void;
  onProgress?(done: number, total: number | undefined, message: string | undefined): void;
  onClientRequest?(kind: "sample" | "elicit", request: unknown): Promise<unknown>;
  /** The fetches the call made, with its result (asked for by giving this handler: the call is traced). */
  onFetches?(fetches: FetchTiming[]): void;
}

/** What the supervisor adds to a call's handlers: ctx.llm is answered in this process, not by the client. */
export interface ShardCallHandlers extends CallHandlers {
  onLlm?(request: unknown): Promise<unknown>;
}

interface Pending {
  serverId: string;
  handlers: ShardCallHandlers;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const PAGE_SIZE = 4096;

export interface ShardHooks {
  onNeedArtifact(hash: string, serverId: string, shard: ShardProcess): void;
  /** Every line a server logs: its calls' and its own (console.*, or after a call ended). */
  onServerLog(serverId: string, level: LogLevel, message: string, data?: unknown): void;
  onExit(shard: ShardProcess, code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * One shard child process as the supervisor sees it: calls in flight, the last heartbeat,
 * and its resident memory (read from /proc, so a shard that is stuck still gets measured).
 */
export class ShardProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly startedAt = Date.now();
  readonly #pending = new Map<number, Pending>();
  readonly #outbox: MessageBatcher<ToShard>;
  #onReady: () => void = () => {};
  #nextId = 1;
  #exited = false;
  lastPong = Date.now();
  /** When it reported ready; undefined while it starts. */
  readyAt: number | undefined;
  /** Why the supervisor killed it, when it did. */
  killReason: string | undefined;

  readonly hooks: ShardHooks;

  /** What the shard reported with its last heartbeat. */
  pool: { isolates: number; heapBytes: number; maxHeapBytes: number } | undefined;

  constructor(entry: string, execArgv: string[], settings: ShardSettings, hooks: ShardHooks) {
    this.hooks = hooks;
    this.child = fork(entry, shardArgv(settings), {
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#onReady = () => {
        // Heartbeats count from here: warming up under load is not hanging.
        this.lastPong = Date.now();
        this.readyAt = this.lastPong;
        resolve();
      };
      this.child.once("exit", () => reject(sandboxError("SANDBOX_CRASHED")));
    });
    this.ready.catch(() => {});
    this.#outbox = new MessageBatcher(
      (wire) => {
        if (!this.#exited && this.child.connected) this.child.send(wire);
      },
      (message, error) => this.#undeliverable(message, error),
    );
    this.child.on("message", (wire: Wire<FromShard>) => unbatch(wire, (message) => this.#onMessage(message)));
    this.child.on("exit", (code, signal) => {
      this.#exited = true;
      this.#outbox.clear();
      const crashed = sandboxError("SANDBOX_CRASHED");
      for (const pending of this.#pending.values()) pending.reject(crashed);
      const serverIds = [...this.#pending.values()].map((p) => p.serverId);
      this.#pending.clear();
      this.inFlightAtExit = serverIds;
      this.hooks.onExit(this, code, signal);
    });
    // Sends to a process that just died raise EPIPE on the channel; the exit handler covers them.
    this.child.on("error", () => {});
  }

  /** The servers whose calls were lost when the process exited. */
  inFlightAtExit: string[] = [];

  get exited(): boolean {
    return this.#exited;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Resident set size in bytes, from /proc (Linux); undefined elsewhere or once gone. */
  rss(): number | undefined {
    try {
      const [, resident] = readFileSync(`/proc/${this.child.pid}/statm`, "utf8").split(" ");
      return Number(resident) * PAGE_SIZE;
    } catch {
      return undefined;
    }
  }

  /** Queued, and written with the other messages of this event-loop turn. */
  send(message: ToShard): void {
    if (!this.#exited) this.#outbox.send(message);
  }

  /** Writes what is queued, then closes the channel: the shard exits once it sees it closed. */
  disconnect(): void {
    this.#outbox.flush();
    if (this.child.connected) this.child.disconnect();
  }

  /** A message that could not be serialized: only a call has someone waiting to hear why. */
  #undeliverable(message: ToShard, error: unknown): void {
    if (message.t !== "call") return;
    const pending = this.#pending.get(message.id);
    this.#pending.delete(message.id);
    pending?.reject(sandboxError("SANDBOX_INTERNAL", `the call could not be sent: ${String(error)}`));
  }

  call(call: Omit<ShardCall, "id">, handlers: ShardCallHandlers, signal?: AbortSignal): Promise<unknown> {
    if (this.#exited) return Promise.reject(sandboxError("SANDBOX_CRASHED"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.send({ t: "cancel", id, reason: String(signal?.reason ?? "cancelled") });
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      this.#pending.set(id, {
        serverId: call.server.id,
        handlers,
        resolve: (value) => {
          done();
          resolve(value);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      this.send({ ...call, id });
    });
  }

  kill(reason: string): void {
    this.killReason ??= reason;
    if (!this.#exited) this.child.kill("SIGKILL");
  }

  #onMessage(message: FromShard): void {
    switch (message.t) {
      case "result": {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.fetches) pending?.handlers.onFetches?.(message.fetches);
        if (message.ok) pending?.resolve(message.value);
        else pending?.reject(new SandboxError(message.code, message.message));
        break;
      }
      case "ready":
        this.#onReady();
        break;
      case "log":
        this.hooks.onServerLog(message.serverId, message.level, message.message, message.data);
        if (message.id !== null)
          this.#pending.get(message.id)?.handlers.onLog?.(message.level, message.message, message.data);
        break;
      case "progress":
        this.#pending.get(message.id)?.handlers.onProgress?.(message.done, message.total, message.message);
        break;
      case "client-request": {
        const handlers = this.#pending.get(message.id)?.handlers;
        const { kind, request } = message;
        const answer =
          kind === "llm"
            ? (handlers?.onLlm?.(request) ?? Promise.reject(new Error("ctx.llm is available only while its call runs")))
            : (handlers?.onClientRequest?.(kind, request) ??
              Promise.reject(new Error(`the client does not support ${kind}`)));
        answer.then(
          (value) => this.send({ t: "client-answer", requestId: message.requestId, ok: true, value }),
          (error: unknown) =>
            this.send({
              t: "client-answer",
              requestId: message.requestId,
              ok: false,
              value: String((error as Error)?.message ?? error),
            }),
        );
        break;
      }
      case "need-artifact":
        this.hooks.onNeedArtifact(message.hash, message.serverId, this);
        break;
      case "pong":
        this.lastPong = Date.now();
        this.pool = { isolates: message.isolates, heapBytes: message.heapBytes, maxHeapBytes: message.maxHeapBytes };
        break;
    }
  }
}
