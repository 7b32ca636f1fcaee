import type { SupervisorEvent } from "@isola/sandbox";
import type { UsageOutcome } from "@isola/schema";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { methodLabel, RESTART_REASONS, restartReason, statusClass } from "./metric-labels.ts";

/**
 * What the sampled gauges read at each scrape. A node without that part leaves it out and the
 * gauge reads 0 (a web-only node has no shards; a node without the runtime role keeps no limits).
 */
/** The shards' pools, summed over the shards of this node. */
export interface SandboxGauges {
  shards: number;
  isolates: number;
  heapBytes: number;
  heapBudgetBytes: number;
}

export interface MetricSources {
  /** The supervisor's slots and the isolates their pools held at the last heartbeat. */
  sandbox?(): SandboxGauges;
  /** Whether the Bus answers a ping now (bounded by a short timeout). */
  busUp?(): Promise<boolean>;
  /** Whether the runtime's limits run per node because the Bus failed. */
  limitsDegraded?(): boolean;
}

const BUILD_OUTCOMES = ["succeeded", "failed"] as const;
export type BuildOutcome = (typeof BUILD_OUTCOMES)[number];

// Seconds. Tool calls may run up to their wall limit; builds take minutes (model + compile + smoke).
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TOOL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BUILD_BUCKETS = [5, 10, 30, 60, 120, 300, 600, 1200, 1800];

/**
 * This node's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * that two instances in one process, as in tests, do not mix). Every label has a bounded set of
 * values: no URL, no caller, no tool name; servers by slug (as many as the servers this node
 * served since it started).
 */
export class NodeMetrics {
  readonly registry = new Registry();
  #sources: MetricSources = {};

  readonly #httpRequests: Counter<"method" | "status_class">;
  readonly #httpDuration: Histogram<"method" | "status_class">;
  readonly #toolCalls: Counter<"server" | "outcome">;
  readonly #toolDuration: Histogram<"outcome">;
  readonly #coldStarts: Counter;
  readonly #shardRestarts: Counter<"reason">;
  readonly #quarantines: Counter;
  readonly #builds: Counter<"outcome">;
  readonly #buildDuration: Histogram<"outcome">;

  constructor(roles: readonly string[]) {
    const registers = [this.registry];
    // RSS, heap, event loop lag, open handles, GC: the process's own health.
    collectDefaultMetrics({ register: this.registry, prefix: "isola_" });
    const nodeRoles = new Gauge({
      name: "isola_node_roles",
      help: "The roles this node serves (ISOLA_ROLES), one series per role, always 1.",
      labelNames: ["role"],
      registers,
    });
    for (const role of roles) nodeRoles.set({ role }, 1);

    this.#httpRequests = new Counter({
      name: "isola_http_requests_total",
      help: "HTTP requests answered by this node, by method and status class.",
      labelNames: ["method", "status_class"],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: "isola_http_request_duration_seconds",
      help: "Time from receiving an HTTP request to sending its response (an SSE stream counts until it ends).",
      labelNames: ["method", "status_class"],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.#toolCalls = new Counter({
      name: "isola_tool_calls_total",
      help: "MCP tools/call requests by server slug and usage outcome (refused calls included, as in usage).",
      labelNames: ["server", "outcome"],
      registers,
    });
    this.#toolDuration = new Histogram({
      name: "isola_tool_call_duration_seconds",
      // By outcome, not server: a histogram per server is a dozen series each, and with a thousand
      // servers the scrape alone held the event loop for a quarter of a second (the soak bench).
      // Per-server latency is in usage (a server's metrics tab).
      help: "Time a tools/call took on this node, by usage outcome (refused calls count as 0).",
      labelNames: ["outcome"],
      buckets: TOOL_BUCKETS,
      registers,
    });
    const sandbox = () => this.#sources.sandbox?.() ?? { shards: 0, isolates: 0, heapBytes: 0, heapBudgetBytes: 0 };
    // Read at each scrape from the shards' last heartbeats.
    const sandboxGauges: [string, string, keyof SandboxGauges][] = [
      ["isola_sandbox_shards", "Sandbox shard processes this node supervises.", "shards"],
      [
        "isola_sandbox_isolates",
        "Tenant isolates held by the shards' pools, as of each shard's last heartbeat.",
        "isolates",
      ],
      [
        "isola_sandbox_pool_heap_bytes",
        "V8 heap the shards' pools hold (the pools' own count), as of each shard's last heartbeat.",
        "heapBytes",
      ],
      [
        "isola_sandbox_pool_heap_budget_bytes",
        "The heap the shards' pools may hold, each adjusted to its shard's measured size.",
        "heapBudgetBytes",
      ],
    ];
    for (const [name, help, field] of sandboxGauges) {
      const gauge: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: () => {
          gauge.set(sandbox()[field]);
        },
      });
    }
    this.#coldStarts = new Counter({
      name: "isola_sandbox_cold_starts_total",
      help: "Isolates created to serve a call because no warm one held the server's version.",
      registers,
    });
    this.#shardRestarts = new Counter({
      name: "isola_sandbox_shard_restarts_total",
      help: "Shard processes that ended and were replaced, by reason (crashed, hung, memory, recycled, stopped).",
      labelNames: ["reason"],
      registers,
    });
    this.#quarantines = new Counter({
      name: "isola_sandbox_quarantines_total",
      help: "Servers quarantined for crashing their shard repeatedly.",
      registers,
    });
    this.#builds = new Counter({
      name: "isola_builds_total",
      help: "Builds this node's worker finished, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.#buildDuration = new Histogram({
      name: "isola_build_duration_seconds",
      help: "Duration of the run that finished a build on this node (from its claim; the wait for confirmation excluded).",
      labelNames: ["outcome"],
      buckets: BUILD_BUCKETS,
      registers,
    });
    // Known label values start at 0, so that rate() and increase() see the first event.
    for (const reason of RESTART_REASONS) this.#shardRestarts.inc({ reason }, 0);
    for (const outcome of BUILD_OUTCOMES) {
      this.#builds.inc({ outcome }, 0);
      this.#buildDuration.zero({ outcome });
    }
    const busUp = new Gauge({
      name: "isola_bus_up",
      help: "1 when the Bus (Redis or in-process) answered a ping during this scrape, else 0.",
      registers,
      collect: async () => {
        busUp.set(this.#sources.busUp && (await this.#sources.busUp()) ? 1 : 0);
      },
    });
    const degraded = new Gauge({
      name: "isola_limits_degraded",
      help: "1 while the runtime's rate limits and quotas are kept per node (the Bus failed), else 0.",
      registers,
      collect: () => {
        degraded.set(this.#sources.limitsDegraded?.() ? 1 : 0);
      },
    });
  }

  /** Adds the parts the gauges read at each scrape (called by the composition root as it builds them). */
  watch(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  httpResponse(method: string, status: number, seconds: number): void {
    const labels = { method: methodLabel(method), status_class: statusClass(status) };
    this.#httpRequests.inc(labels);
    this.#httpDuration.observe(labels, seconds);
  }

  toolCall(server: string, outcome: UsageOutcome, durationMs: number): void {
    this.#toolCalls.inc({ server, outcome });
    this.#toolDuration.observe({ outcome }, durationMs / 1000);
  }

  /** The supervisor's events: exits are restarts (a shard is always replaced unless the node is stopping). */
  sandboxEvent(event: SupervisorEvent): void {
    if (event.type === "shard-exit") this.#shardRestarts.inc({ reason: restartReason(event) });
    else if (event.type === "quarantine") this.#quarantines.inc();
  }

  coldStart(): void {
    this.#coldStarts.inc();
  }

  buildFinished(outcome: BuildOutcome, durationMs: number): void {
    this.#builds.inc({ outcome });
    this.#buildDuration.observe({ outcome }, durationMs / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format (version 0.0.4); sampled gauges are read now. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
