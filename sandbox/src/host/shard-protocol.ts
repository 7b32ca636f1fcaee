// Messages between the supervisor (in the front process) and a shard process, over
// Node's IPC channel, several per write (message-batch.ts). Tool code never sees them.
import type { LogLevel } from "../../guest/runtime/protocol.ts";
import type { SandboxErrorCode } from "../errors.ts";
import type { EgressPolicy } from "./egress/egress-fetch.ts";
import type { PoolOptions } from "./isolate-pool.ts";
import type { IsolateLimits } from "./limits.ts";

export type CallKind = "tool" | "resource" | "prompt" | "describe";

/** A call into one server version. `code` is inline only for describe (builds not stored yet). */
export interface ShardCall {
  t: "call";
  id: number;
  /** Identifies the code: an isolate is reused while server, hash and limits are the same. */
  server: { id: string; hash: string; code?: string };
  kind: CallKind;
  /** Tool or prompt name, or resource URI. */
  target: string;
  args: unknown;
  env: Record<string, string>;
  user: { subject: string; clientId: string | null; scopes: string[] } | null;
  egress: EgressPolicy;
  limits: Partial<IsolateLimits>;
  /** The caller traces this call: the result carries the timing of each fetch the tool made. */
  timeFetches?: true;
}

/**
 * One fetch a traced call made, as the shard saw it (epoch milliseconds, fractional): enough for
 * the front process to draw a span, since no exporter runs in a shard. A fetch made while several
 * calls of one isolate ran is reported to each of them (fetch has no per-call context).
 */
export interface FetchTiming {
  host: string;
  method: string;
  start: number;
  end: number;
  /** The upstream's status; absent when the fetch failed (then `error` is its EGRESS_* code). */
  status?: number;
  error?: string;
}

export type ToShard =
  | ShardCall
  | { t: "artifact"; hash: string; code: string }
  | { t: "artifact-missing"; hash: string; message: string }
  | { t: "cancel"; id: number; reason: string }
  | { t: "client-answer"; requestId: number; ok: boolean; value: unknown }
  | { t: "evict"; serverId: string }
  | { t: "ping"; n: number };

export type FromShard =
  | { t: "ready" }
  | { t: "result"; id: number; ok: true; value: unknown; fetches?: FetchTiming[] }
  | { t: "result"; id: number; ok: false; code: SandboxErrorCode; message: string; fetches?: FetchTiming[] }
  | { t: "need-artifact"; hash: string; serverId: string }
  /** Every line goes to the server's log; a line with a call id also goes to that call. */
  | { t: "log"; id: number | null; serverId: string; level: LogLevel; message: string; data?: unknown }
  | { t: "progress"; id: number; done: number; total?: number; message?: string }
  /** sample and elicit go to the MCP client; llm to the supervisor's model function. */
  | { t: "client-request"; id: number; requestId: number; kind: "sample" | "elicit" | "llm"; request: unknown }
  | {
      t: "pong";
      n: number;
      rss: number;
      isolates: number;
      /** The pool's measured heaps and its budget. */
      heapBytes: number;
      maxHeapBytes: number;
      inFlight: number;
    };

/** What the supervisor tells a shard as it starts: one argument of the shard process, JSON. */
export interface ShardSettings {
  pool: Partial<PoolOptions>;
  /** The supervisor recycles the shard past this resident size; the pool's budget follows it (shard-memory.ts). */
  recycleRssBytes?: number;
  /** How often the pool is swept and its budget adjusted. */
  sweepIntervalMs?: number;
  /** Isolates loading at once (load-gate.ts). */
  loadsAtOnce?: number;
}

export function shardArgv(settings: ShardSettings): string[] {
  return [JSON.stringify(settings)];
}

/** The settings a shard was started with; none when it was started by hand. */
export function readShardSettings(argv: readonly string[] = process.argv): ShardSettings {
  const given = argv[2];
  if (given === undefined) return { pool: {} };
  const parsed = JSON.parse(given) as Partial<ShardSettings>;
  return { ...parsed, pool: parsed.pool ?? {} };
}
