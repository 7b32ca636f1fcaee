// The load generator, in a process of its own so that it neither shares an event loop with the
// servers under test nor counts in their memory. It runs autocannon jobs the benchmark sends
// over IPC and answers with what it measured. Every response is checked: a call counts only
// if it is a 200 carrying the tool's text, not an error.
import autocannon from "autocannon";
import { EXPECTED_TEXT, type LoadJob, type LoadResult } from "./load-client.ts";

let nextId = 0;
/** A tools/call with an id unique in this process: one SDK session serves many connections at once. */
const callBody = () =>
  `{"jsonrpc":"2.0","id":${++nextId},"method":"tools/call","params":{"name":"hello","arguments":{"name":"bench"}}}`;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function cannon(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failures = 0;
  let firstFailure: string | undefined;
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
            // Round-robin over the routes: one per server, or one per session.
            setupRequest: (request) => {
              const route = job.routes[n++ % job.routes.length] as LoadJob["routes"][number];
              return { ...request, path: route.path, headers: route.headers, body: callBody() };
            },
            onResponse: (status, body) => {
              if (status === 200 && body.includes(EXPECTED_TEXT) && !body.includes('"isError":true')) ok++;
              else {
                failures++;
                firstFailure ??= `${status} ${body.slice(0, 300)}`;
              }
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsed = (performance.now() - started) / 1000;
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          calls: ok,
          callsPerSecond: ok / elapsed,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
          failures: failures + result.errors + result.timeouts,
          ...(firstFailure ? { firstFailure } : {}),
        });
      },
    );
    instance.on("response", (_client, _status, _bytes, ms) => void latencies.push(ms));
  });
}

process.on("message", async (message: { id: number; job: LoadJob }) => {
  try {
    process.send?.({ id: message.id, result: await cannon(message.job) });
  } catch (error) {
    process.send?.({ id: message.id, error: String((error as Error)?.stack ?? error) });
  }
});
process.send?.({ ready: true });
