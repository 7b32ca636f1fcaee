import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { LogLevel } from "../../guest/runtime/protocol.ts";
import { SandboxError, sandboxError } from "../errors.ts";
import type { EgressPolicy } from "./egress/egress-fetch.ts";
import type { IsolateLimits } from "./limits.ts";
import { DEFAULT_LLM_LIMITS, type LlmComplete, type LlmLimits, llmForCall } from "./llm.ts";
import { DEFAULT_QUARANTINE, Quarantine, type QuarantinePolicy } from "./quarantine.ts";
import { DEFAULT_MAX_SHARD_RSS_BYTES, DEFAULT_RECYCLE_SHARD_RSS_BYTES, poolHeapBudget } from "./shard-memory.ts";
import { type CallHandlers, ShardProcess } from "./shard-process.ts";
import type { CallKind } from "./shard-protocol.ts";

const SHARD_MAIN = fileURLToPath(new URL("./shard-main.ts", import.meta.url));

export interface SupervisorOptions {
  /** Shard processes; default one per core. */
  shards?: number;
  /** The shard entry point; tests pass one that injects a DNS stub. */
  entry?: string;
  /** The code of a server version, when a shard asks for it. */
  loadArtifact(serverId: string, hash: string): Promise<string>;
  /** A shard over this resident size is killed at once (a memory bomb got past the heap limit). */
  maxShardRssBytes?: number;
  /**
   * A shard over this resident size is replaced gracefully (freed isolate memory rarely goes
   * back to the OS). Its isolate pool's heap budget derives from it, so that idle isolates are
   * evicted first and a recycle is the backstop.
   */
  recycleShardRssBytes?: number;
  /** No heartbeat answer for this long: the shard is hung and gets killed. */
  hangTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  quarantine?: Partial<QuarantinePolicy>;
  /** A shard is recycled only once it has run this long (a fresh shard is small anyway). */
  minRecycleAgeMs?: number;
  /** How often each shard sweeps its isolate pool and adjusts the pool's budget to its measured size. */
  poolSweepIntervalMs?: number;
  /** Isolates a shard loads at once (default 4; the others wait their turn). */
  loadsAtOnce?: number;
  /** For logs and metrics: shard exits, restarts, recycles and quarantines. */
  onEvent?(event: SupervisorEvent): void;
  /** Lines a server logged outside any call (console.*, or after its call ended). */
  onServerLog?(serverId: string, level: LogLevel, message: string, data?: unknown): void;
  /** Answers ctx.llm.complete() (model, key, metering); without it, ctx.llm fails with a message that says so. */
  llm?: LlmComplete;
  llmLimits?: Partial<LlmLimits>;
}

export type SupervisorEvent =
  | {
      type: "shard-exit";
      slot: number;
      pid: number | undefined;
      code: number | null;
      signal: string | null;
      reason: string;
      lostCalls: number;
    }
  | { type: "shard-start"; slot: number; pid: number | undefined }
  | { type: "shard-recycle"; slot: number; pid: number | undefined; rssBytes: number }
  | { type: "quarantine"; serverId: string };

export interface SandboxCall extends CallHandlers {
  server: { id: string; hash: string };
  /** The server's org, handed to the llm function when known. */
  orgId?: string;
  kind: Exclude<CallKind, "describe">;
  /** Tool or prompt name, or resource URI. */
  target: string;
  args: unknown;
  env: Record<string, string>;
  user: { subject: string; clientId: string | null; scopes: string[] } | null;
  egress: EgressPolicy;
  limits?: Partial<IsolateLimits>;
  signal?: AbortSignal;
}

interface Slot {
  current: ShardProcess;
  /** Replaced by a recycle; finishing their in-flight calls. */
  draining: Set<ShardProcess>;
  restarts: number[];
}

/** FNV-1a: a tenant always lands on the same shard (while the shard count is the same). */
export function shardFor(serverId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < serverId.length; i++) {
    hash ^= serverId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/**
 * Runs tenant code in shard processes and keeps them healthy: restarts a shard that exits
 * or hangs, kills one over its memory ceiling, recycles one that has grown, and quarantines
 * a server that keeps crashing its shard. Lives in the front process; never runs tool code.
 */
export class SandboxSupervisor {
  readonly #options: Required<
    Omit<SupervisorOptions, "onEvent" | "onServerLog" | "quarantine" | "llm" | "llmLimits" | "loadsAtOnce">
  > &
    Pick<SupervisorOptions, "onEvent" | "onServerLog" | "llm">;
  readonly #llmLimits: LlmLimits;
  readonly #loadsAtOnce: number | undefined;
  readonly #slots: Slot[] = [];
  readonly #quarantine: Quarantine;
  #heartbeat: NodeJS.Timeout | undefined;
  #ping = 0;
  #closed = false;

  constructor(options: SupervisorOptions) {
    this.#options = {
      shards: options.shards ?? availableParallelism(),
      entry: options.entry ?? SHARD_MAIN,
      loadArtifact: options.loadArtifact,
      maxShardRssBytes: options.maxShardRssBytes ?? DEFAULT_MAX_SHARD_RSS_BYTES,
      recycleShardRssBytes: options.recycleShardRssBytes ?? DEFAULT_RECYCLE_SHARD_RSS_BYTES,
      hangTimeoutMs: options.hangTimeoutMs ?? 10_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      minRecycleAgeMs: options.minRecycleAgeMs ?? 60_000,
      poolSweepIntervalMs: options.poolSweepIntervalMs ?? 5000,
      onEvent: options.onEvent,
      onServerLog: options.onServerLog,
      llm: options.llm,
    };
    this.#llmLimits = { ...DEFAULT_LLM_LIMITS, ...options.llmLimits };
    this.#loadsAtOnce = options.loadsAtOnce;
    this.#quarantine = new Quarantine({ ...DEFAULT_QUARANTINE, ...options.quarantine });
  }

  async start(): Promise<void> {
    for (let slot = 0; slot < this.#options.shards; slot++) {
      this.#slots.push({ current: this.#spawn(slot), draining: new Set(), restarts: [] });
    }
    await Promise.all(this.#slots.map((s) => s.current.ready));
    this.#heartbeat = setInterval(() => this.#checkShards(), this.#options.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  #spawn(slot: number): ShardProcess {
    // Tool code may not build code from strings (V8 enforces it in every isolate of the process).
    const shard = new ShardProcess(
      this.#options.entry,
      ["--no-node-snapshot", "--disallow-code-generation-from-strings"],
      {
        pool: { maxHeapBytes: poolHeapBudget(this.#options.recycleShardRssBytes) },
        recycleRssBytes: this.#options.recycleShardRssBytes,
        sweepIntervalMs: this.#options.poolSweepIntervalMs,
        ...(this.#loadsAtOnce === undefined ? {} : { loadsAtOnce: this.#loadsAtOnce }),
      },
      {
        onNeedArtifact: (hash, serverId, from) => {
          this.#options.loadArtifact(serverId, hash).then(
            (code) => from.send({ t: "artifact", hash, code }),
            (error: unknown) =>
              from.send({ t: "artifact-missing", hash, message: String((error as Error)?.message ?? error) }),
          );
        },
        onExit: (exited, code, signal) => this.#onExit(slot, exited, code, signal),
        onServerLog: (serverId, level, message, data) => this.#options.onServerLog?.(serverId, level, message, data),
      },
    );
    this.#options.onEvent?.({ type: "shard-start", slot, pid: shard.child.pid });
    return shard;
  }

  #onExit(slotIndex: number, shard: ShardProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const slot = this.#slots[slotIndex];
    if (!slot) return;
    const lost = shard.inFlightAtExit;
    this.#options.onEvent?.({
      type: "shard-exit",
      slot: slotIndex,
      pid: shard.child.pid,
      code,
      signal,
      reason: shard.killReason ?? (slot.draining.has(shard) ? "recycled" : "exited"),
      lostCalls: lost.length,
    });
    if (slot.draining.delete(shard) || this.#closed) return;
    if (lost.length > 0) this.#strike(lost);
    // Back off when a slot keeps crashing, so a crash loop does not burn a core.
    const now = Date.now();
    slot.restarts = slot.restarts.filter((at) => now - at < 60_000);
    slot.restarts.push(now);
    const delay = Math.min(5000, 50 * 2 ** Math.max(0, slot.restarts.length - 3));
    const replacement = () => {
      if (!this.#closed) slot.current = this.#spawn(slotIndex);
    };
    if (slot.current === shard) {
      // Until the replacement exists, calls wait on a process that is already gone: spawn now,
      // but delay it when the slot is crash-looping.
      if (delay <= 50) replacement();
      else setTimeout(replacement, delay).unref();
    }
  }

  #strike(servers: string[]): void {
    for (const serverId of this.#quarantine.recordCrash(servers, Date.now())) {
      this.#options.onEvent?.({ type: "quarantine", serverId });
    }
  }

  #checkShards(): void {
    const now = Date.now();
    for (const [index, slot] of this.#slots.entries()) {
      for (const shard of [slot.current, ...slot.draining]) {
        if (shard.exited) continue;
        if (now - shard.lastPong > this.#options.hangTimeoutMs) {
          shard.kill(`no heartbeat for ${this.#options.hangTimeoutMs} ms`);
          continue;
        }
        const rss = shard.rss() ?? 0;
        if (rss > this.#options.maxShardRssBytes) {
          shard.kill(`resident memory ${Math.round(rss / 1024 ** 2)} MB over the ceiling`);
          continue;
        }
        if (slot.draining.has(shard) && shard.inFlight === 0) shard.kill("recycled");
        else if (
          shard === slot.current &&
          rss > this.#options.recycleShardRssBytes &&
          now - (shard.readyAt ?? now) >= this.#options.minRecycleAgeMs
        ) {
          this.#options.onEvent?.({ type: "shard-recycle", slot: index, pid: shard.child.pid, rssBytes: rss });
          slot.draining.add(shard);
          slot.current = this.#spawn(index);
        } else {
          shard.send({ t: "ping", n: ++this.#ping });
        }
      }
    }
  }

  async call(call: SandboxCall): Promise<unknown> {
    if (this.#quarantine.isQuarantined(call.server.id)) throw sandboxError("SANDBOX_QUARANTINED");
    const shard = await this.#readyShard(call.server.id);
    const { signal, onLog, onProgress, onClientRequest, onFetches, orgId, ...rest } = call;
    const llm = llmForCall(this.#options.llm, this.#llmLimits, {
      serverId: call.server.id,
      ...(orgId ? { orgId } : {}),
      ...(signal ? { signal } : {}),
    });
    try {
      return await shard.call(
        {
          t: "call",
          ...rest,
          server: { id: call.server.id, hash: call.server.hash },
          limits: call.limits ?? {},
          ...(onFetches ? { timeFetches: true as const } : {}),
        },
        {
          ...(onLog ? { onLog } : {}),
          ...(onProgress ? { onProgress } : {}),
          ...(onClientRequest ? { onClientRequest } : {}),
          ...(onFetches ? { onFetches } : {}),
          onLlm: (request) => llm.complete(request),
        },
        signal,
      );
    } catch (error) {
      // A memory overrun names its culprit, and a memory bomb may take its whole shard down
      // before the heap limit stops it: each one is a strike of its own (weight 1).
      if (error instanceof SandboxError && error.code === "SANDBOX_MEMORY_LIMIT") this.#strike([call.server.id]);
      throw error;
    } finally {
      // Completions still running belong to a call that is over (done, failed, cancelled, timed out).
      llm.end();
    }
  }

  /** Loads a bundle that is not stored yet and returns what it declares (for the compiler). */
  async describe(bundle: { code: string; hash: string }, limits: Partial<IsolateLimits> = {}): Promise<unknown> {
    const shard = await this.#readyShard(bundle.hash);
    return shard.call(
      {
        t: "call",
        server: { id: `build:${bundle.hash}`, hash: bundle.hash, code: bundle.code },
        kind: "describe",
        target: "",
        args: null,
        env: {},
        user: null,
        egress: { allowedHosts: [] },
        limits,
      },
      {},
    );
  }

  /**
   * Calls a tool of a bundle that is not stored yet (a build's smoke run): like `call`, with the
   * code given inline, as `describe` loads it. No ctx.llm: a trial spends nobody's tokens.
   */
  async trial(
    bundle: { code: string; hash: string },
    call: Pick<SandboxCall, "target" | "args" | "env" | "egress"> & { limits?: Partial<IsolateLimits> },
  ): Promise<unknown> {
    const shard = await this.#readyShard(bundle.hash);
    return shard.call(
      {
        t: "call",
        server: { id: `build:${bundle.hash}`, hash: bundle.hash, code: bundle.code },
        kind: "tool",
        target: call.target,
        args: call.args,
        env: call.env,
        user: null,
        egress: call.egress,
        limits: call.limits ?? {},
      },
      {},
    );
  }

  /** A new version is live: release the old one's isolates once idle, and lift a quarantine. */
  versionChanged(serverId: string): void {
    this.#quarantine.clear(serverId);
    this.#slotFor(serverId).current.send({ t: "evict", serverId });
  }

  isQuarantined(serverId: string): boolean {
    return this.#quarantine.isQuarantined(serverId);
  }

  clearQuarantine(serverId: string): void {
    this.#quarantine.clear(serverId);
  }

  /** The shard for a server once it is ready. One that dies while starting ran no tool code: wait for its replacement. */
  async #readyShard(serverId: string): Promise<ShardProcess> {
    for (let attempt = 0; ; attempt++) {
      const shard = await this.#liveShard(serverId);
      try {
        await shard.ready;
        return shard;
      } catch (error) {
        if (attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  }

  /**
   * The slot's current process. A crash-looping slot gets its replacement only after a backoff
   * (at most 5 s): meanwhile calls wait for it rather than fail at once on the dead process, so
   * that a crash costs only the calls that were in flight.
   */
  async #liveShard(serverId: string): Promise<ShardProcess> {
    const waitUntil = Date.now() + 6000;
    let shard = this.#slotFor(serverId).current;
    while (shard.exited && Date.now() < waitUntil) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      shard = this.#slotFor(serverId).current;
    }
    return shard;
  }

  #slotFor(serverId: string): Slot {
    if (this.#closed || this.#slots.length === 0) throw sandboxError("SANDBOX_INTERNAL", "the sandbox is not running");
    return this.#slots[shardFor(serverId, this.#slots.length)] as Slot;
  }

  /** The process of each slot, and its pool as of its last heartbeat (for tests and metrics). */
  shards(): {
    pid: number | undefined;
    inFlight: number;
    rssBytes: number | undefined;
    pool: ShardProcess["pool"];
  }[] {
    return this.#slots.map(({ current }) => ({
      pid: current.child.pid,
      inFlight: current.inFlight,
      rssBytes: current.rss(),
      pool: current.pool,
    }));
  }

  shardOf(serverId: string): number | undefined {
    return this.#slotFor(serverId).current.child.pid;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const all = this.#slots.flatMap((slot) => [slot.current, ...slot.draining]);
    await Promise.all(
      all.map(
        (shard) =>
          new Promise<void>((resolve) => {
            if (shard.exited) return resolve();
            shard.child.once("exit", () => resolve());
            shard.disconnect();
            setTimeout(() => shard.kill("closing"), 2000).unref();
          }),
      ),
    );
  }
}
