import { SandboxError, sandboxError } from "../errors.ts";
import type { Resolve } from "./egress/egress-fetch.ts";
import { prepareGuestRuntime } from "./guest-runtime.ts";
import { IsolatePool, type PoolOptions } from "./isolate-pool.ts";
import { LoadGate } from "./load-gate.ts";
import { MessageBatcher, unbatch, type Wire } from "./message-batch.ts";
import { nextPoolBudget, poolBudgetBounds } from "./shard-memory.ts";
import { type FetchTiming, type FromShard, readShardSettings, type ShardCall, type ToShard } from "./shard-protocol.ts";
import { type CallOptions, TenantIsolate } from "./tenant-isolate.ts";

/** Fetch timings one traced call reports at most. */
const MAX_FETCH_TIMINGS = 100;

export interface ShardOptions {
  /** DNS for egress; tests inject a stub (the DNS boundary). */
  resolve?: Resolve;
  /** Over what the supervisor passed (its budget derives from the shard's recycle threshold). */
  pool?: Partial<PoolOptions>;
  /** Calls in progress across all isolates of this shard. isolated-vm spawns threads without bound past its pool. */
  maxInFlight?: number;
  /** Isolates loading at once (load-gate.ts). */
  loadsAtOnce?: number;
}

/** Twice the cores a shard usually gets (more finish none sooner; pnpm bench:sandbox measures it). */
const LOADS_AT_ONCE = 4;

/**
 * The body of a sandbox shard process: isolates for the tenants hashed to this shard,
 * driven by the supervisor over IPC. It never serves HTTP; if tool code takes it down,
 * the supervisor restarts it and only its in-flight calls are lost.
 */
export async function runShard(options: ShardOptions = {}): Promise<void> {
  const outbox = new MessageBatcher<FromShard>(
    (wire: Wire<FromShard>) => {
      if (process.connected) process.send?.(wire);
    },
    (message, error) => {
      // A result that cannot be serialized still ends its call, as an error the caller can read.
      if (message.t === "result" && message.ok) {
        const failed = sandboxError("SANDBOX_INTERNAL", `the result could not be sent: ${String(error)}`);
        outbox.send({ t: "result", id: message.id, ok: false, code: failed.code, message: failed.message });
      }
    },
  );
  const send = (message: FromShard) => outbox.send(message);
  const settings = readShardSettings();
  const pool = new IsolatePool({ ...settings.pool, ...options.pool });
  const maxInFlight = options.maxInFlight ?? 256;
  const loads = new LoadGate(options.loadsAtOnce ?? settings.loadsAtOnce ?? LOADS_AT_ONCE);
  const cancels = new Map<number, AbortController>();
  const artifactWaits = new Map<string, { resolve(code: string): void; reject(error: Error): void }[]>();
  const clientWaits = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextClientRequest = 1;

  // A stray rejection in host code must not end the shard (FIELD-NOTES: isolated-vm host functions).
  process.on("unhandledRejection", () => {});
  // The supervisor going away means this shard has no purpose left.
  process.on("disconnect", () => process.exit(0));
  // A write the supervisor's end closed under it fails with EPIPE; 'disconnect' follows and ends the shard.
  process.on("error", () => {});

  const bounds = settings.recycleRssBytes === undefined ? undefined : poolBudgetBounds(settings.recycleRssBytes);
  let shrunkAtRssBytes = 0;
  const sweeper = setInterval(() => {
    if (bounds) {
      const rssBytes = process.memoryUsage.rss();
      const reading = { rssBytes, heapBytes: pool.heapBytes, shrunkAtRssBytes };
      const budget = nextPoolBudget(pool.maxHeapBytes, reading, bounds);
      if (budget < pool.maxHeapBytes) shrunkAtRssBytes = rssBytes;
      pool.maxHeapBytes = budget;
    }
    pool.sweep();
  }, settings.sweepIntervalMs ?? 5000);
  sweeper.unref();

  function artifact(call: ShardCall): Promise<string> {
    if (call.server.code !== undefined) return Promise.resolve(call.server.code);
    return new Promise((resolve, reject) => {
      const waits = artifactWaits.get(call.server.hash) ?? [];
      if (waits.length === 0) send({ t: "need-artifact", hash: call.server.hash, serverId: call.server.id });
      waits.push({ resolve, reject });
      artifactWaits.set(call.server.hash, waits);
    });
  }

  function callOptions(call: ShardCall, signal: AbortSignal, fetches: FetchTiming[] | undefined): CallOptions {
    return {
      env: call.env,
      user: call.user,
      egress: call.egress,
      signal,
      // Bounded: a tool looping over fetches must not grow its result message without end.
      ...(fetches
        ? { onFetch: (timing: FetchTiming) => void (fetches.length < MAX_FETCH_TIMINGS && fetches.push(timing)) }
        : {}),
      onLog: (level, message, data) =>
        send({
          t: "log",
          id: call.id,
          serverId: call.server.id,
          level,
          message,
          ...(data === undefined ? {} : { data }),
        }),
      onProgress: (done, total, message) =>
        send({
          t: "progress",
          id: call.id,
          done,
          ...(total === undefined ? {} : { total }),
          ...(message === undefined ? {} : { message }),
        }),
      onClientRequest: (kind, request) =>
        new Promise((resolve, reject) => {
          const requestId = nextClientRequest++;
          clientWaits.set(requestId, { resolve, reject });
          send({ t: "client-request", id: call.id, requestId, kind, request });
        }),
    };
  }

  async function run(call: ShardCall, fetches: FetchTiming[] | undefined): Promise<unknown> {
    // The artifact is fetched before taking a turn: waiting on the supervisor uses no CPU.
    const create = async () => {
      const code = await artifact(call);
      return loads.run(() => load(code));
    };
    const load = (code: string) =>
      TenantIsolate.create({ code, hash: call.server.hash }, call.limits, {
        ...(options.resolve ? { resolve: options.resolve } : {}),
        onServerLog: (level, message, data) =>
          send({
            t: "log",
            id: null,
            serverId: call.server.id,
            level,
            message,
            ...(data === undefined ? {} : { data }),
          }),
      });
    if (call.kind === "describe") {
      // A build not yet stored: load, describe, release.
      const isolate = await create();
      try {
        return await isolate.describe();
      } finally {
        isolate.dispose();
      }
    }
    // Registered before loading: a cancel may arrive while the isolate is still being created.
    const controller = new AbortController();
    cancels.set(call.id, controller);
    try {
      const key = `${call.server.id}#${call.server.hash}#${JSON.stringify(call.limits)}`;
      const isolate = await pool.acquire(key, create);
      try {
        const callOpts = callOptions(call, controller.signal, fetches);
        if (call.kind === "tool") return await isolate.callTool(call.target, call.args, callOpts);
        if (call.kind === "resource") return await isolate.readResource(call.target, callOpts);
        return await isolate.getPrompt(call.target, call.args as Record<string, string>, callOpts);
      } finally {
        pool.release(isolate);
      }
    } finally {
      cancels.delete(call.id);
    }
  }

  let inFlight = 0;
  async function onCall(call: ShardCall): Promise<void> {
    if (inFlight >= maxInFlight) {
      const error = sandboxError("SANDBOX_BUSY", maxInFlight);
      send({ t: "result", id: call.id, ok: false, code: error.code, message: error.message });
      return;
    }
    inFlight++;
    const fetches: FetchTiming[] | undefined = call.timeFetches ? [] : undefined;
    // Fetch timings ride with the result, succeeded or not (no exporter runs in a shard).
    const timings = () => (fetches && fetches.length > 0 ? { fetches } : {});
    try {
      const value = await run(call, fetches);
      send({ t: "result", id: call.id, ok: true, value, ...timings() });
    } catch (error) {
      const known = error instanceof SandboxError ? error : sandboxError("SANDBOX_INTERNAL", String(error));
      send({ t: "result", id: call.id, ok: false, code: known.code, message: known.message, ...timings() });
    } finally {
      inFlight--;
    }
  }

  process.on("message", (wire: Wire<ToShard>) => unbatch(wire, onMessage));
  function onMessage(message: ToShard): void {
    switch (message.t) {
      case "call":
        void onCall(message);
        break;
      case "artifact":
      case "artifact-missing": {
        const waits = artifactWaits.get(message.hash) ?? [];
        artifactWaits.delete(message.hash);
        for (const wait of waits) {
          if (message.t === "artifact") wait.resolve(message.code);
          else wait.reject(sandboxError("SANDBOX_LOAD_FAILED", message.message));
        }
        break;
      }
      case "cancel":
        cancels.get(message.id)?.abort(message.reason);
        break;
      case "client-answer": {
        const wait = clientWaits.get(message.requestId);
        clientWaits.delete(message.requestId);
        if (message.ok) wait?.resolve(message.value);
        else wait?.reject(new Error(String(message.value)));
        break;
      }
      case "evict":
        pool.evict(`${message.serverId}#`);
        break;
      case "ping":
        send({
          t: "pong",
          n: message.n,
          rss: process.memoryUsage.rss(),
          isolates: pool.size,
          heapBytes: pool.heapBytes,
          maxHeapBytes: pool.maxHeapBytes,
          inFlight,
        });
        break;
    }
  }
  // The runtime's snapshot is made before the first tenant arrives, so no cold start pays for it.
  await prepareGuestRuntime();
  send({ t: "ready" });
}
