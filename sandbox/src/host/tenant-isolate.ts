import { randomBytes } from "node:crypto";
import type { Manifest } from "@isola/schema";
import ivm from "isolated-vm";
import {
  type CallContextData,
  GUEST_ENTRY_POINTS,
  type GuestFetchRequest,
  type GuestReply,
  HOST_OPS,
  type LogLevel,
  URL_PARTS,
} from "../../guest/runtime/protocol.ts";
import { SandboxError, sandboxError } from "../errors.ts";
import { type EgressPolicy, egressFetch, type Resolve } from "./egress/egress-fetch.ts";
import { producedCache, type RuntimeLoading, runtimeIsolate } from "./guest-runtime.ts";
import { type IsolateLimits, mergeLimits } from "./limits.ts";
import type { FetchTiming } from "./shard-protocol.ts";

/** What a call hands the isolate and hears back from it. */
export interface CallOptions {
  env: Record<string, string>;
  user: CallContextData["user"];
  egress: EgressPolicy;
  /** Cancellation from the client. */
  signal?: AbortSignal;
  onLog?(level: LogLevel, message: string, data?: unknown): void;
  onProgress?(done: number, total: number | undefined, message: string | undefined): void;
  /** Sampling and elicitation: requests to the MCP client, carried by the runtime; llm: ctx.llm, answered by the supervisor. */
  onClientRequest?(kind: "sample" | "elicit" | "llm", request: unknown): Promise<unknown>;
  /** Each fetch made while this call ran, once it ended (only for calls that are traced). */
  onFetch?(timing: FetchTiming): void;
}

type ServerLog = (level: LogLevel, message: string, data?: unknown) => void;

export interface IsolateOptions {
  /** DNS for egress (tests inject a stub). */
  resolve?: Resolve;
  /** Lines that belong to no call: console.*, and ctx.log after its call ended. */
  onServerLog?: ServerLog;
  /** Default "snapshot" (falls back to the script when no snapshot could be made). */
  runtime?: RuntimeLoading;
}

interface ActiveCall {
  options: CallOptions;
  cpuAtStartNs: bigint;
  deadline: number;
  fail(error: SandboxError): void;
}

type EntryPoint = (typeof GUEST_ENTRY_POINTS)[number];

/** V8's code cache of tenant bundles, by hash: produced here from the bundle, never accepted from elsewhere. */
const bundleCache = new Map<string, ivm.ExternalCopy<ArrayBuffer>>();

/**
 * One server version in one isolate with one context, reused across calls (like a worker's
 * global scope). Limits: a memory cap (isolated-vm's, a guideline), a CPU budget and a wall
 * deadline per call enforced from the host (also after awaits, which isolated-vm's own
 * timeout does not cover), a result size cap and a concurrency cap. A call that breaks the
 * CPU or memory limit disposes the isolate; the next call gets a fresh one.
 */
export class TenantIsolate {
  readonly limits: IsolateLimits;
  readonly #isolate: ivm.Isolate;
  readonly #context: ivm.Context;
  readonly #entry = new Map<EntryPoint, ivm.Reference>();
  readonly #calls = new Map<number, ActiveCall>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  readonly #resolve: Resolve | undefined;
  readonly #onServerLog: ServerLog | undefined;
  #nextCall = 1;
  #watchdog: NodeJS.Timeout | undefined;
  #disposed = false;
  /** The egress policy of the latest call: fetch is per isolate, not per call. */
  #egress: EgressPolicy = { allowedHosts: [] };
  #fetchesInFlight = 0;
  readonly #waiting: (() => void)[] = [];
  lastUsed = Date.now();

  private constructor(isolate: ivm.Isolate, context: ivm.Context, limits: IsolateLimits, options: IsolateOptions) {
    this.#isolate = isolate;
    this.#context = context;
    this.limits = limits;
    this.#resolve = options.resolve;
    this.#onServerLog = options.onServerLog;
  }

  /** Loads the guest runtime and the bundle. Throws SANDBOX_LOAD_FAILED with the reason. */
  static async create(
    bundle: { code: string; hash: string },
    limits: Partial<IsolateLimits> = {},
    options: IsolateOptions = {},
  ): Promise<TenantIsolate> {
    const merged = mergeLimits(limits);
    let loaded: { isolate: ivm.Isolate; context: ivm.Context } | undefined;
    try {
      loaded = await runtimeIsolate(merged.memoryMb, options.runtime ?? "snapshot", merged.loadTimeoutMs);
      const tenant = new TenantIsolate(loaded.isolate, loaded.context, merged, options);
      await tenant.#load(bundle);
      return tenant;
    } catch (error) {
      if (loaded && !loaded.isolate.isDisposed) loaded.isolate.dispose();
      if (error instanceof SandboxError) throw error;
      throw sandboxError("SANDBOX_LOAD_FAILED", describeIsolateError(error, merged));
    }
  }

  async #load(bundle: { code: string; hash: string }): Promise<void> {
    const global = this.#context.global;
    const guest = (await global.get("__isolaGuest", { reference: true })) as ivm.Reference<Record<string, unknown>>;
    for (const name of GUEST_ENTRY_POINTS) {
      this.#entry.set(name, (await guest.get(name, { reference: true })) as ivm.Reference);
    }
    // From here on, tool code cannot reach the entry points the host holds.
    await global.delete("__isolaGuest");
    await this.#entry
      .get("attach")
      ?.apply(undefined, [new ivm.Callback((op: string, payload: string) => this.#onHostCall(op, payload))], {
        timeout: this.limits.loadTimeoutMs,
      });

    // cachedData we produced ourselves from this source: never accept it from elsewhere.
    const cached = bundleCache.get(bundle.hash);
    const script = await this.#isolate.compileScript(bundle.code, {
      filename: "server.js",
      ...(cached ? { cachedData: cached } : { produceCachedData: true }),
    });
    const fresh = cached ? undefined : producedCache(script);
    if (fresh) bundleCache.set(bundle.hash, fresh);
    try {
      await script.run(this.#context, { timeout: this.limits.loadTimeoutMs });
    } catch (error) {
      throw sandboxError("SANDBOX_LOAD_FAILED", describeIsolateError(error, this.limits));
    }
  }

  get disposed(): boolean {
    return this.#disposed || this.#isolate.isDisposed;
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  /** Bytes of V8 heap in use: what the pool's memory budget counts. */
  heapBytes(): number {
    if (this.disposed) return 0;
    const stats = this.#isolate.getHeapStatisticsSync();
    return stats.used_heap_size + stats.externally_allocated_size;
  }

  /** The manifest the code declares (JSON Schemas from its zod definitions). */
  async describe(): Promise<Manifest> {
    const answer = await this.#entry.get("describe")?.apply(undefined, [], {
      result: { copy: true },
      timeout: this.limits.loadTimeoutMs,
    });
    try {
      return unwrap(answer) as Manifest;
    } catch (error) {
      // A definition the guest cannot describe (e.g. a z.date() input) is the code's problem, not ours.
      if (error instanceof SandboxError && error.code === "SANDBOX_INTERNAL") {
        throw sandboxError("SANDBOX_LOAD_FAILED", error.message.replace(/^internal sandbox error: /, ""));
      }
      throw error;
    }
  }

  async callTool(name: string, args: unknown, options: CallOptions): Promise<unknown> {
    try {
      return await this.#call("callTool", (callId, ctx) => [callId, name, JSON.stringify(args ?? {}), ctx], options);
    } catch (error) {
      // For a tool, its code failing is a tool error the model can read, not a protocol error.
      if (error instanceof SandboxError && error.code === "SANDBOX_CODE_ERROR") {
        return { content: [{ type: "text", text: error.message }], isError: true };
      }
      throw error;
    }
  }

  readResource(uri: string, options: CallOptions): Promise<unknown> {
    return this.#call("readResource", (callId, ctx) => [callId, uri, ctx], options);
  }

  getPrompt(name: string, args: Record<string, string>, options: CallOptions): Promise<unknown> {
    return this.#call("getPrompt", (callId, ctx) => [callId, name, JSON.stringify(args ?? {}), ctx], options);
  }

  async #call(
    entry: EntryPoint,
    args: (callId: number, contextJson: string) => unknown[],
    options: CallOptions,
  ): Promise<unknown> {
    if (this.disposed) throw sandboxError("SANDBOX_RESET");
    await this.#slot();
    if (this.disposed) throw sandboxError("SANDBOX_RESET");
    if (options.signal?.aborted) throw sandboxError("SANDBOX_CANCELLED", String(options.signal.reason ?? "cancelled"));
    this.lastUsed = Date.now();
    this.#egress = options.egress;
    const callId = this.#nextCall++;
    const contextJson = JSON.stringify({
      env: options.env,
      user: options.user,
      maxResultBytes: this.limits.maxResultBytes,
    } satisfies CallContextData);

    let fail: (error: SandboxError) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    this.#calls.set(callId, {
      options,
      cpuAtStartNs: this.#isolate.cpuTime,
      deadline: Date.now() + this.limits.wallTimeMs,
      fail,
    });
    const onAbort = () => {
      const reason = String(options.signal?.reason ?? "cancelled by the client");
      this.#abortGuest(callId, reason);
      fail(sandboxError("SANDBOX_CANCELLED", reason));
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.#startWatchdog();
    try {
      const running = this.#entry.get(entry)?.apply(undefined, args(callId, contextJson), {
        result: { promise: true, copy: true },
        timeout: this.limits.cpuTimeMs,
      });
      const answer = await Promise.race([running, failed]);
      if (typeof answer === "string" && Buffer.byteLength(answer) > this.limits.maxResultBytes + 1024) {
        // The guest checks this too; the host does not trust the guest.
        throw sandboxError(
          "SANDBOX_RESULT_TOO_LARGE",
          `${Buffer.byteLength(answer)} bytes; the limit is ${this.limits.maxResultBytes}`,
        );
      }
      return unwrap(answer);
    } catch (error) {
      const classified = this.#classify(error);
      this.#onLimit(classified, [callId]);
      throw classified;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      this.#calls.delete(callId);
      this.#waiting.shift()?.();
      if (this.#calls.size === 0) this.#quiesce();
    }
  }

  /** Waits for a free call slot, first come first served; past the queue's length the call is refused as busy. */
  async #slot(): Promise<void> {
    if (this.#calls.size < this.limits.maxConcurrentCalls && this.#waiting.length === 0) return;
    if (this.#waiting.length >= this.limits.maxQueuedCalls) {
      throw sandboxError("SANDBOX_BUSY", this.limits.maxConcurrentCalls + this.limits.maxQueuedCalls);
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** What an apply rejected with, as a SandboxError that says which limit was hit. No side effects. */
  #classify(error: unknown): SandboxError {
    if (error instanceof SandboxError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (/memory limit/i.test(message)) return sandboxError("SANDBOX_MEMORY_LIMIT", this.limits.memoryMb);
    if (/timed out/i.test(message)) return sandboxError("SANDBOX_CPU_LIMIT", this.limits.cpuTimeMs);
    if (/disposed/i.test(message)) return sandboxError("SANDBOX_RESET");
    // isolated-vm fails a task that ends with a rejection nobody handled: the tenant's.
    return sandboxError("SANDBOX_CODE_ERROR", `a promise was left rejected without a handler (${message})`);
  }

  /** A limit that costs the isolate: the culprit hears why, the other calls that they were reset. */
  #onLimit(error: SandboxError, culprits: number[]): void {
    if (error.code !== "SANDBOX_CPU_LIMIT" && error.code !== "SANDBOX_MEMORY_LIMIT") return;
    for (const callId of culprits) this.#calls.get(callId)?.fail(error);
    this.dispose();
  }

  /** Checks every running call's CPU and wall time; isolated-vm's timeout misses code after an await. */
  #startWatchdog(): void {
    this.#watchdog ??= setInterval(() => {
      if (this.disposed) return;
      const now = Date.now();
      const cpu = this.#isolate.cpuTime;
      for (const [callId, call] of this.#calls) {
        if (Number(cpu - call.cpuAtStartNs) / 1e6 > this.limits.cpuTimeMs) {
          this.#onLimit(sandboxError("SANDBOX_CPU_LIMIT", this.limits.cpuTimeMs), [callId]);
          return;
        }
        if (now > call.deadline) {
          this.#abortGuest(callId, "deadline passed");
          call.fail(sandboxError("SANDBOX_WALL_TIMEOUT", this.limits.wallTimeMs));
        }
      }
    }, this.limits.watchdogIntervalMs);
    this.#watchdog.unref();
  }

  #failOthers(except: number): void {
    for (const [callId, call] of this.#calls) if (callId !== except) call.fail(sandboxError("SANDBOX_RESET"));
  }

  /** No call is running: stop the watchdog and drop pending timers (no background work). */
  #quiesce(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #abortGuest(callId: number, reason: string): void {
    this.#entry
      .get("abort")
      ?.apply(undefined, [callId, reason], { timeout: this.limits.cpuTimeMs })
      .catch(() => {});
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // Queued calls wake up, see the isolate is gone, and fail with SANDBOX_RESET.
    for (const wake of this.#waiting.splice(0)) wake();
    this.#quiesce();
    this.#failOthers(-1);
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }

  /** The one synchronous callback tool code can reach (through the guest runtime). Never throws. */
  #onHostCall(op: string, payload: string): string {
    try {
      if (op === HOST_OPS.log && payload.length > 4 * this.limits.maxLogLineBytes) {
        payload = JSON.stringify({
          callId: null,
          level: "warning",
          message: `a log line of ${payload.length} characters was dropped`,
        });
      }
      const data = JSON.parse(payload) as Record<string, unknown>;
      switch (op) {
        case HOST_OPS.log:
          return this.#log(data);
        case HOST_OPS.progress: {
          const call = this.#calls.get(data.callId as number);
          call?.options.onProgress?.(
            Number(data.done),
            data.total as number | undefined,
            data.message as string | undefined,
          );
          return "";
        }
        case HOST_OPS.random:
          return randomBytes(Math.min(65536, Math.max(0, Number(data.n) || 0))).toString("hex");
        case HOST_OPS.parseUrl:
          return parseUrl(data);
        case HOST_OPS.setTimer:
          return this.#setTimer(Number(data.id), Number(data.ms));
        case HOST_OPS.clearTimer:
          clearTimeout(this.#timers.get(Number(data.id)));
          this.#timers.delete(Number(data.id));
          return "";
        case HOST_OPS.fetch:
          this.#answer(Number(data.id), () => this.#fetch(data.request as GuestFetchRequest));
          return "";
        case HOST_OPS.sample:
        case HOST_OPS.elicit:
        case HOST_OPS.llm:
          this.#answer(Number(data.id), () => this.#clientRequest(op, data));
          return "";
        default:
          return "";
      }
    } catch {
      return "";
    }
  }

  #logLines = 0;
  #logWindowStart = Date.now();

  #log(data: Record<string, unknown>): string {
    // A flood of log lines costs the host, so each isolate gets a budget per second.
    const now = Date.now();
    if (now - this.#logWindowStart > 1000) {
      this.#logWindowStart = now;
      this.#logLines = 0;
    }
    if (++this.#logLines > this.limits.maxLogLinesPerSecond) return "";
    const level = (["debug", "info", "warning", "error"] as const).find((l) => l === data.level) ?? "info";
    const message = String(data.message).slice(0, this.limits.maxLogLineBytes);
    const extra = boundedData(data.data, this.limits.maxLogLineBytes);
    // ctx.log of a running call goes to that call; console.* and late lines to the server's log.
    const call = data.callId === null ? undefined : this.#calls.get(data.callId as number);
    if (call?.options.onLog) call.options.onLog(level, message, extra);
    else this.#onServerLog?.(level, message, extra);
    return "";
  }

  #setTimer(id: number, ms: number): string {
    if (this.#calls.size === 0) return "timers are available only while a call runs";
    if (ms > this.limits.maxTimerMs) return `setTimeout delay is capped at ${this.limits.maxTimerMs} ms`;
    if (this.#timers.size >= this.limits.maxPendingTimers) {
      return `at most ${this.limits.maxPendingTimers} timers may be pending`;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      if (this.disposed) return;
      this.#entry
        .get("fireTimer")
        ?.apply(undefined, [id], { timeout: this.limits.cpuTimeMs })
        .catch((error: unknown) => this.#reportBackgroundError(error));
    }, ms);
    this.#timers.set(id, timer);
    return "";
  }

  /** Runs an async host operation and hands its outcome to the guest's resolver. */
  #answer(id: number, work: () => Promise<unknown>): void {
    void (async () => {
      let ok = true;
      let payload: string;
      try {
        payload = JSON.stringify(await work());
      } catch (error) {
        ok = false;
        payload = error instanceof Error ? error.message : String(error);
      }
      if (this.disposed) return;
      // The tool's continuation runs inside this apply: the timeout bounds it.
      await this.#entry
        .get("resolve")
        ?.apply(undefined, [id, ok, payload], { timeout: this.limits.cpuTimeMs })
        .catch((error: unknown) => this.#reportBackgroundError(error));
    })();
  }

  /**
   * A continuation or timer callback failed. Which call it served is unknown, so a limit
   * fails every running call; anything else only goes to the server's log.
   */
  #reportBackgroundError(error: unknown): void {
    const classified = this.#classify(error);
    if (classified.code === "SANDBOX_CODE_ERROR") this.#onServerLog?.("error", classified.message);
    else this.#onLimit(classified, [...this.#calls.keys()]);
  }

  async #fetch(request: GuestFetchRequest): Promise<unknown> {
    if (this.#calls.size === 0) throw new Error("fetch is available only while a call runs");
    if (this.#fetchesInFlight >= this.limits.maxConcurrentFetches) {
      throw new Error(`at most ${this.limits.maxConcurrentFetches} fetches may run at once`);
    }
    this.#fetchesInFlight++;
    // The calls running now (a global fetch cannot say which one made it): each traced one hears of it.
    const watchers = [...this.#calls.values()].flatMap((call) => (call.options.onFetch ? [call.options.onFetch] : []));
    const start = performance.timeOrigin + performance.now();
    let outcome: Pick<FetchTiming, "status" | "error"> = {};
    try {
      const response = await egressFetch(
        {
          url: request.url,
          method: request.method,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: Buffer.from(request.body, "base64") }),
        },
        this.#egress,
        this.#resolve ? { resolve: this.#resolve } : {},
      );
      outcome = { status: response.status };
      return { ...response, body: Buffer.from(response.body).toString("base64") };
    } catch (error) {
      outcome = { error: (error as { code?: string }).code ?? "unknown" };
      throw error;
    } finally {
      this.#fetchesInFlight--;
      if (watchers.length > 0) {
        const timing: FetchTiming = {
          host: URL.parse(request.url)?.hostname ?? "",
          method: String(request.method ?? "GET").toUpperCase(),
          start,
          end: performance.timeOrigin + performance.now(),
          ...outcome,
        };
        for (const watch of watchers) watch(timing);
      }
    }
  }

  async #clientRequest(kind: "sample" | "elicit" | "llm", data: Record<string, unknown>): Promise<unknown> {
    const call = this.#calls.get(data.callId as number);
    if (kind === "llm" && !call) throw new Error("ctx.llm is available only while its call runs");
    if (!call?.options.onClientRequest) {
      throw new Error(kind === "llm" ? "ctx.llm is not available here" : `the client does not support ${kind}`);
    }
    return call.options.onClientRequest(kind, data.request);
  }
}

/** Log data as given, unless its JSON is over the line cap (it would cross IPC and fill logs). */
function boundedData(data: unknown, maxBytes: number): unknown {
  if (data === undefined) return undefined;
  const size = Buffer.byteLength(JSON.stringify(data) ?? "");
  return size <= maxBytes ? data : `[${size} bytes of data left out: over the ${maxBytes}-byte line limit]`;
}

function parseUrl(data: Record<string, unknown>): string {
  const url = URL.parse(String(data.url), data.base === undefined ? undefined : String(data.base));
  if (!url) return "";
  const set = data.set as [string, string] | undefined;
  if (set && (URL_PARTS as readonly string[]).includes(set[0])) {
    (url as unknown as Record<string, string>)[set[0]] = set[1];
  }
  return JSON.stringify(Object.fromEntries([...URL_PARTS, "origin"].map((part) => [part, url[part as "href"]])));
}

/** A guest reply: the value, or the guest's error turned into a SandboxError. */
function unwrap(answer: unknown): unknown {
  if (typeof answer !== "string")
    throw sandboxError("SANDBOX_INTERNAL", "the guest answered something other than JSON");
  let reply: GuestReply<unknown>;
  try {
    reply = JSON.parse(answer) as GuestReply<unknown>;
  } catch {
    throw sandboxError("SANDBOX_INTERNAL", "the guest answered malformed JSON");
  }
  if (typeof reply !== "object" || reply === null)
    throw sandboxError("SANDBOX_INTERNAL", "the guest answered a non-object");
  if ("ok" in reply) return reply.ok;
  const { code, message } = (reply as { error?: { code?: unknown; message?: unknown } }).error ?? {};
  const text = String(message ?? "unknown error");
  switch (code) {
    case "unknown_tool":
      throw new SandboxError("SANDBOX_UNKNOWN_TOOL", text);
    case "unknown_resource":
      throw new SandboxError("SANDBOX_UNKNOWN_RESOURCE", text);
    case "unknown_prompt":
      throw new SandboxError("SANDBOX_UNKNOWN_PROMPT", text);
    case "invalid_arguments":
      throw sandboxError("SANDBOX_INVALID_ARGUMENTS", text);
    case "result_too_large":
      throw sandboxError("SANDBOX_RESULT_TOO_LARGE", text);
    case "code_error":
      throw sandboxError("SANDBOX_CODE_ERROR", text);
    case "no_server":
      throw sandboxError("SANDBOX_NO_SERVER");
    default:
      throw sandboxError("SANDBOX_INTERNAL", text);
  }
}

function describeIsolateError(error: unknown, limits: IsolateLimits): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/memory limit/i.test(message)) return `it went over the memory limit of ${limits.memoryMb} MB while loading`;
  if (/timed out/i.test(message)) return `loading took longer than ${limits.loadTimeoutMs} ms`;
  return message;
}
