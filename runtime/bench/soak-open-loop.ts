// The open-loop load of the soak, run in the load generator's process (load-worker.ts): requests
// leave on a fixed schedule (`rate` per second, evenly spaced) whether or not earlier ones have
// been answered, so that a slow server meets a queue instead of a politely waiting client.
// autocannon's own rate option sends each connection's share in a burst at the start of every
// second, which is not this. A latency is measured from the scheduled send time.
import { FailureTally, failureKind } from "./load-answer.ts";
import { EXPECTED_TEXT, type LatencyFigures, type LoadJob, type LoadResult, type LoadRoute } from "./load-client.ts";
import { openSession } from "./mcp-session.ts";

const TIMEOUT_MS = 10_000;
const TICK_MS = 2;

let nextId = 0;
/** A JSON-RPC request with an id unique in this process (one SDK session may serve many connections). */
export function rpcBody(route: LoadRoute): string {
  const method = route.method ?? "tools/call";
  const params = route.params ?? { name: "hello", arguments: { name: "bench" } };
  return JSON.stringify({ jsonrpc: "2.0", id: ++nextId, method, params });
}

/** Latency figures of a set of samples (ms); failures are counted beside them. */
export function figures(latencies: number[], failures: number): LatencyFigures {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    calls: latencies.length,
    failures,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

class Bucket {
  readonly latencies: number[] = [];
  failures = 0;
}

/** One request of a route; resolves to a failure kind and sample, or undefined when it counts. */
async function send(origin: string, route: LoadRoute): Promise<[string, string] | undefined> {
  const url = `${origin}${route.path}`;
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  let headers = route.headers;
  try {
    let session: string | undefined;
    if (route.newSession) {
      try {
        session = await openSession(url, headers);
      } catch (error) {
        return ["new session: initialize failed", String((error as Error).message)];
      }
      headers = { ...headers, "mcp-session-id": session };
    }
    const response = await fetch(url, { method: "POST", headers, body: rpcBody(route), signal });
    const body = await response.text();
    const kind = failureKind(response.status, body, route.expect ?? EXPECTED_TEXT);
    if (kind) return [route.newSession ? `new session: ${kind}` : kind, `${response.status} ${body}`];
    if (session) {
      // No content-type: a DELETE carries no body (Fastify refuses an empty JSON body).
      const { "content-type": _, ...deleteHeaders } = headers;
      const ended = await fetch(url, { method: "DELETE", headers: deleteHeaders, signal });
      await ended.text();
      if (ended.status !== 200) return [`new session: DELETE HTTP ${ended.status}`, `${ended.status}`];
    }
    return undefined;
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
    if ((error as Error).name === "TimeoutError") return ["timeout", `no answer within ${TIMEOUT_MS} ms: ${url}`];
    return [`socket error${cause ? ` ${cause}` : ""}`, String((error as Error).message)];
  }
}

export function openLoop(job: LoadJob): Promise<LoadResult> {
  const rate = job.rate as number;
  const windowMs = (job.windowSeconds ?? job.seconds) * 1000;
  const total = Math.floor(rate * job.seconds);
  const failures = new FailureTally();
  const windows: Bucket[] = [];
  const kinds = new Map<string, Bucket>();
  const all: number[] = [];
  let ok = 0;
  let sent = 0;
  let inFlight = 0;
  const started = performance.now();

  return new Promise((resolve) => {
    const finish = () => {
      const elapsed = (performance.now() - started) / 1000;
      const whole = figures(all, failures.total);
      resolve({
        calls: ok,
        callsPerSecond: ok / elapsed,
        p50Ms: whole.p50Ms,
        p99Ms: whole.p99Ms,
        failures: failures.total,
        failureKinds: failures.kinds,
        ...(failures.first ? { firstFailure: failures.first } : {}),
        windows: windows.map((bucket) => figures(bucket.latencies, bucket.failures)),
        kinds: Object.fromEntries(
          [...kinds].map(([kind, bucket]) => [kind, figures(bucket.latencies, bucket.failures)]),
        ),
      });
    };
    const launch = (index: number, scheduled: number) => {
      const route = job.routes[index % job.routes.length] as LoadRoute;
      const slot = Math.floor((scheduled - started) / windowMs);
      const window = windows[slot] ?? new Bucket();
      windows[slot] = window;
      const label = route.kind ?? route.method ?? "tools/call";
      const counted = kinds.get(label) ?? new Bucket();
      kinds.set(label, counted);
      if (inFlight >= job.connections) {
        failures.add(
          "generator backlog",
          `${inFlight} requests in flight at ${((scheduled - started) / 1000).toFixed(1)} s`,
        );
        window.failures++;
        counted.failures++;
        return;
      }
      inFlight++;
      void send(job.origin, route).then((failure) => {
        inFlight--;
        if (failure) {
          failures.add(failure[0], failure[1]);
          window.failures++;
          counted.failures++;
        } else {
          const latency = performance.now() - scheduled;
          ok++;
          all.push(latency);
          window.latencies.push(latency);
          counted.latencies.push(latency);
        }
        if (sent === total && inFlight === 0) finish();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && started + (sent * 1000) / rate <= now) {
        launch(sent, started + (sent * 1000) / rate);
        sent++;
      }
      if (sent < total) setTimeout(tick, TICK_MS);
      else if (inFlight === 0) finish();
    };
    tick();
  });
}
