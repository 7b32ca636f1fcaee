// Once a second during the soak: the resident memory and open file descriptors of every process
// in Isola's tree (the main process, the sandbox shards, whatever else it started), read from
// /proc; and, from Isola's /metrics, its event-loop lag, active handles and the sandbox counters.
import { readdirSync, readFileSync } from "node:fs";
import { cpuOf, descendantsOf, isShard, rssOf } from "./proc.ts";

export interface ProcessSample {
  pid: number;
  /** "main", "shard", or the program's name (esbuild, tsc...). */
  role: string;
  rssMb: number;
  fds: number;
  /** CPU seconds it has used so far. */
  cpuSeconds: number;
}

export interface Sample {
  /** Seconds since the soak started. */
  t: number;
  processes: ProcessSample[];
  /** TCP connections established to Isola's port: its clients' sockets, which the load opens and closes. */
  connections: number;
  /** Selected series of Isola's /metrics (each name's series summed), when scraped this second. */
  metrics?: Record<string, number>;
}

/** The series of /metrics the soak keeps (prefix isola_). */
const METRICS = [
  "nodejs_eventloop_lag_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_active_handles_total",
  "nodejs_active_resources_total",
  "nodejs_heap_size_used_bytes",
  "process_open_fds",
  "sandbox_isolates",
  "sandbox_pool_heap_bytes",
  "sandbox_pool_heap_budget_bytes",
  "sandbox_cold_starts_total",
  "sandbox_shard_restarts_total",
  "sandbox_quarantines_total",
];

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** Established TCP connections whose local port is `port` (/proc/net/tcp and tcp6: st 01). */
export function connectionsTo(port: number): number {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let count = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let table = "";
    try {
      table = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of table.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === "01" && local?.endsWith(hexPort)) count++;
    }
  }
  return count;
}

function roleOf(pid: number, root: number): string {
  if (pid === root) return "main";
  if (isShard(pid)) return "shard";
  try {
    const [program = "?"] = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return program.split("/").pop() ?? program;
  } catch {
    return "?";
  }
}

/** Sums each kept series of a Prometheus text exposition (labels ignored). */
export function pickMetrics(exposition: string): Record<string, number> {
  const picked: Record<string, number> = {};
  for (const line of exposition.split("\n")) {
    if (!line.startsWith("isola_")) continue;
    const name = line.slice("isola_".length, line.search(/[{ ]/));
    if (!METRICS.includes(name)) continue;
    picked[name] = (picked[name] ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return picked;
}

export class Sampler {
  readonly samples: Sample[] = [];
  /** Scrapes of /metrics that failed or took long: the scrape itself must not be what is measured. */
  readonly scrapeFailures: string[] = [];
  scrapeMs: number[] = [];
  /** Size of the last exposition: it grows with the servers a node has served. */
  scrapeBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #started = 0;
  #roles = new Map<number, string>();

  readonly root: number;
  readonly metrics: { origin: string; token: string; everySeconds: number };
  readonly #port: number;

  constructor(root: number, metrics: { origin: string; token: string; everySeconds: number }) {
    this.root = root;
    this.metrics = metrics;
    this.#port = Number(new URL(metrics.origin).port);
  }

  start(): void {
    this.#started = performance.now();
    let tick = 0;
    const take = () => {
      const t = (performance.now() - this.#started) / 1000;
      const processes = [this.root, ...descendantsOf(this.root)].map((pid) => {
        const role = this.#roles.get(pid) ?? roleOf(pid, this.root);
        this.#roles.set(pid, role);
        return { pid, role, rssMb: rssOf(pid) / 1024 ** 2, fds: fdCount(pid), cpuSeconds: cpuOf(pid) };
      });
      const sample: Sample = { t, processes, connections: connectionsTo(this.#port) };
      this.samples.push(sample);
      if (tick++ % this.metrics.everySeconds === 0) void this.#scrape(sample);
    };
    take();
    this.#timer = setInterval(take, 1000);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #scrape(sample: Sample): Promise<void> {
    const started = performance.now();
    try {
      const response = await fetch(`${this.metrics.origin}/metrics`, {
        headers: { authorization: `Bearer ${this.metrics.token}` },
        signal: AbortSignal.timeout(5000),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${response.status} ${text.slice(0, 200)}`);
      sample.metrics = pickMetrics(text);
      this.scrapeBytes = text.length;
      this.scrapeMs.push(performance.now() - started);
    } catch (error) {
      this.scrapeFailures.push(`${sample.t.toFixed(0)} s: ${(error as Error).message}`);
    }
  }
}
