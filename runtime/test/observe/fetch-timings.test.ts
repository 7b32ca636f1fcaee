import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { compileServer, type FetchTiming, SandboxSupervisor } from "@isola/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A traced call's fetches, timed in the shard process (no exporter runs there) and handed back
// with the call's result: host, method, status or EGRESS_* code, start and end. The shard's DNS
// sends loopback.example.test to a local upstream (the sandbox's own test entry point).

const SHARD_WITH_DNS_STUB = fileURLToPath(
  new URL("../../../sandbox/test/support/shard-with-dns-stub.ts", import.meta.url),
);
const HOST = "loopback.example.test";

const source = (port: number) => `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "fetcher",
  version: "1.0.0",
  description: "Fetches an upstream",
  egress: ["${HOST}"],
  tools: {
    three_fetches: tool({
      description: "Fetches an answer, a failure and a host it may not reach",
      input: z.object({ fail: z.boolean() }),
      async run({ fail }) {
        const ok = await fetch("http://${HOST}:${port}/ok");
        const broken = await fetch("http://${HOST}:${port}/broken", { method: "POST", body: "x" });
        const refused = await fetch("https://elsewhere.example.org/").then(() => "reached", () => "refused");
        // Past its wall time: the call fails in the sandbox (a thrown error would be a tool result).
        if (fail) await new Promise(() => {});
        return [ok.status, broken.status, refused].join(" ");
      },
    }),
  },
});
`;

describe("fetch timings of a traced sandbox call", () => {
  let upstream: Server;
  let supervisor: SandboxSupervisor;
  let server: { id: string; hash: string };
  const egress = { allowedHosts: [HOST], allowHttpHosts: [HOST], allowPrivateNetworks: true };

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      request.resume();
      // A little latency, so that a fetch's duration is measurable.
      setTimeout(() => response.writeHead(request.url === "/ok" ? 200 : 500).end("answer"), 20);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const { port } = upstream.address() as AddressInfo;
    const code = new Map<string, string>();
    supervisor = new SandboxSupervisor({
      shards: 1,
      entry: SHARD_WITH_DNS_STUB,
      loadArtifact: async (_serverId, hash) => code.get(hash) as string,
    });
    await supervisor.start();
    const compiled = await compileServer(
      { "index.ts": source(port) },
      { describe: (bundle) => supervisor.describe(bundle) },
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    code.set(compiled.artifact.hash, compiled.artifact.bundle);
    server = { id: "fetcher", hash: compiled.artifact.hash };
  }, 60_000);

  afterAll(async () => {
    await supervisor?.close();
    upstream?.closeAllConnections();
    upstream?.close();
  });

  const call = (fail: boolean, onFetches?: (fetches: FetchTiming[]) => void) =>
    supervisor.call({
      server,
      kind: "tool",
      target: "three_fetches",
      args: { fail },
      env: {},
      user: null,
      egress,
      ...(fail ? { limits: { wallTimeMs: 500 } } : {}),
      ...(onFetches ? { onFetches } : {}),
    });

  it("hands back each fetch with its host, method, status and times, within the call", async () => {
    const reports: FetchTiming[][] = [];
    const before = Date.now();
    const result = await call(false, (fetches) => reports.push(fetches));
    const after = Date.now();
    expect(result).toMatchObject({ content: [{ type: "text", text: "200 500 refused" }] });
    expect(reports).toHaveLength(1);
    const [ok, broken, refused] = reports[0] as FetchTiming[];
    expect(ok).toMatchObject({ host: HOST, method: "GET", status: 200 });
    expect(broken).toMatchObject({ host: HOST, method: "POST", status: 500 });
    expect(refused).toMatchObject({
      host: "elsewhere.example.org",
      method: "GET",
      error: expect.stringMatching(/^EGRESS_/),
    });
    expect(refused?.status).toBeUndefined();
    for (const fetch of [ok, broken, refused] as FetchTiming[]) {
      expect(fetch.start).toBeGreaterThanOrEqual(before - 1);
      expect(fetch.end).toBeLessThanOrEqual(after + 1);
      expect(fetch.end).toBeGreaterThanOrEqual(fetch.start);
    }
    expect((ok as FetchTiming).end - (ok as FetchTiming).start).toBeGreaterThanOrEqual(15);
    expect((broken as FetchTiming).start).toBeGreaterThanOrEqual((ok as FetchTiming).end);
  });

  it("hands them back with a call that failed in the sandbox too", async () => {
    const reports: FetchTiming[][] = [];
    await expect(call(true, (fetches) => reports.push(fetches))).rejects.toMatchObject({
      code: "SANDBOX_WALL_TIMEOUT",
    });
    expect(reports.map((fetches) => fetches.map((fetch) => fetch.status ?? fetch.error))).toEqual([
      [200, 500, expect.stringMatching(/^EGRESS_/)],
    ]);
  });

  it("times nothing for a call that is not traced", async () => {
    // Without the handler the shard is not asked (no timeFetches on the call): nothing to observe but the answer.
    expect(await call(false)).toMatchObject({ content: [{ text: "200 500 refused" }] });
  });
});
