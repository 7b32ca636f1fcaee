// The load generator, in a process of its own so that it neither shares an event loop with the
// servers under test nor counts in their memory. It runs the jobs the benchmark sends over IPC
// and answers with what it measured: closed-loop jobs with autocannon, open-loop jobs (a `rate`)
// with soak-open-loop.ts. Every response is checked: a call counts only if it is a 200 carrying
// the expected text, not an error.
import autocannon from "autocannon";
import { FailureTally, failureKind } from "./load-answer.ts";
import { EXPECTED_TEXT, type LoadJob, type LoadResult, type LoadRoute } from "./load-client.ts";
import { openLoop, rpcBody } from "./soak-open-loop.ts";

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function cannon(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  const failures = new FailureTally();
  let n = 0;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: job.origin,
        connections: job.connections,
        duration: job.seconds,
        timeout: 10,
        requests: [
          {
            method: "POST",
            // Round-robin over the routes: one per server, or one per session. A connection has
            // one request in flight: its context remembers the route until the answer.
            setupRequest: (request, context) => {
              const route = job.routes[n++ % job.routes.length] as LoadRoute;
              context.route = route;
              return { ...request, path: route.path, headers: route.headers, body: rpcBody(route) };
            },
            onResponse: (status, body, context) => {
              const kind = failureKind(status, body, (context.route as LoadRoute).expect ?? EXPECTED_TEXT);
              if (kind) failures.add(kind, `${status} ${body}`);
              else ok++;
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsed = (performance.now() - started) / 1000;
        const sorted = Float64Array.from(latencies).sort();
        // autocannon counts a timeout as an error too.
        failures.add("timeout", "no answer within 10 s", result.timeouts);
        failures.add("socket error", "connection error", result.errors - result.timeouts);
        resolve({
          calls: ok,
          callsPerSecond: ok / elapsed,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
          failures: failures.total,
          failureKinds: failures.kinds,
          ...(failures.first ? { firstFailure: failures.first } : {}),
        });
      },
    );
    instance.on("response", (_client, _status, _bytes, ms) => void latencies.push(ms));
  });
}

process.on("message", async (message: { id: number; job: LoadJob }) => {
  try {
    const result = message.job.rate ? await openLoop(message.job) : await cannon(message.job);
    process.send?.({ id: message.id, result });
  } catch (error) {
    process.send?.({ id: message.id, error: String((error as Error)?.stack ?? error) });
  }
});
process.send?.({ ready: true });
