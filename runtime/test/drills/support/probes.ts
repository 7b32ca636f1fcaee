import pg from "pg";

// What failure drills read besides calls: a node's /readyz over time, and the usage the fleet
// wrote to Postgres.

/** The interval UsageRecorder.start() flushes at by default; the composition root sets no other. */
export const USAGE_FLUSH_INTERVAL_MS = 5000;

export interface Readiness {
  node: string;
  at: number;
  status: number | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  body: any;
}

/** A node's /readyz now (status undefined: no answer). */
export async function readyz(node: string, url: string): Promise<Readiness> {
  const at = performance.now();
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
    return { node, at, status: response.status, body: await response.json() };
  } catch (error) {
    return { node, at, status: undefined, body: String(error) };
  }
}

/** Polls /readyz of `nodes()` every `everyMs` until stopped; every answer in `seen`. */
export function watchReadiness(nodes: () => { name: string; url: string }[], everyMs = 200) {
  const seen: Readiness[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      seen.push(...(await Promise.all(nodes().map((node) => readyz(node.name, node.url)))));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Calls of `tool` recorded in usage_minutely, all servers and outcomes. */
export async function usageCalls(databaseUrl: string, tool: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ calls: string | null }>(
      "select sum(calls)::text as calls from usage_minutely where tool = $1",
      [tool],
    );
    return Number(rows[0]?.calls ?? 0);
  } finally {
    await client.end();
  }
}
