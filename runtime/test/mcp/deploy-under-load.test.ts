import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";

// Zero-downtime swaps: five deploys while clients call without pause. No call may fail, calls
// must switch to each new version within a second of its deploy returning, and a call already
// running when a deploy lands finishes on the version it started on.

/** A server whose tools say which version answered; `slow` holds its isolate for a while. */
const sourceOf = (generation: number) => `
import { defineServer, tool, z } from "isola";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export default defineServer({
  name: "swap",
  tools: {
    which: tool({ description: "Which generation answers", input: z.object({}), run: () => "gen-${generation}" }),
    slow: tool({
      description: "Answers after a pause",
      input: z.object({ ms: z.number().int().max(5000) }),
      run: async ({ ms }) => { await sleep(ms); return "gen-${generation}"; },
    }),
  },
});
`;

const CLIENTS = 8;
const DEPLOYS = 5;

interface Call {
  sentAt: number;
  doneAt: number;
  status: number;
  generation: number | null;
  error?: string;
}

class McpSession {
  #id = "";
  #next = 1;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async open(): Promise<void> {
    const response = await this.#post({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "load", version: "1" } },
    });
    this.#id = response.headers.get("mcp-session-id") ?? "";
    if (response.status !== 200 || !this.#id) throw new Error(`initialize failed: ${response.status}`);
    await response.text();
    const initialized = await this.#post({ jsonrpc: "2.0", method: "notifications/initialized" });
    await initialized.text();
  }

  async call(name: string, args: Record<string, unknown>): Promise<Call> {
    const sentAt = performance.now();
    try {
      const response = await this.#post({
        jsonrpc: "2.0",
        id: this.#next++,
        method: "tools/call",
        params: { name, arguments: args },
      });
      const body = (await response.json()) as { result?: { isError?: boolean; content?: { text: string }[] } };
      const text = body.result?.content?.[0]?.text ?? "";
      const ok = response.status === 200 && body.result && !body.result.isError;
      return {
        sentAt,
        doneAt: performance.now(),
        status: response.status,
        generation: ok ? Number(/^gen-(\d+)$/.exec(text)?.[1] ?? Number.NaN) : null,
        ...(ok ? {} : { error: JSON.stringify(body).slice(0, 300) }),
      };
    } catch (error) {
      return { sentAt, doneAt: performance.now(), status: 0, generation: null, error: String(error) };
    }
  }

  #post(message: unknown): Promise<Response> {
    return fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        // JSON only: each call is answered in the POST's own response.
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        ...(this.#id ? { "mcp-session-id": this.#id } : {}),
      },
      body: JSON.stringify(message),
    });
  }
}

describe("deploying under load", () => {
  let api: Api;
  let endpoint: string;
  let plans: string;
  beforeAll(async () => {
    // A plan whose rate limit the load never reaches: this test is about swaps, not limits.
    plans = mkdtempSync(join(tmpdir(), "isola-plans-"));
    const unlimited = { id: "default", name: "Load", maxServers: 10, callsPerMonth: 10_000_000, memoryMb: 64 };
    writeFileSync(join(plans, "plans.json"), JSON.stringify([{ ...unlimited, rateLimitPerMinute: 1_000_000 }]));
    api = await startApi(undefined, { ISOLA_PLANS_FILE: join(plans, "plans.json") }, { listen: true });
    expect((await api.admin.post("servers", { slug: "swap", name: "Swap", authMode: "public" })).status).toBe(201);
    // Every version is compiled up front: the measured switch is the deploy, not the compiler.
    for (let generation = 1; generation <= DEPLOYS + 1; generation++) {
      const version = await api.admin.post("servers/swap/versions", { source: sourceOf(generation) });
      expect(version.status, JSON.stringify(version.body)).toBe(201);
      expect(version.body.number).toBe(generation);
    }
    expect((await api.admin.post("servers/swap/deploy", { version: 1 })).status).toBe(200);
    endpoint = `${api.url}/swap/mcp`;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    if (plans) rmSync(plans, { recursive: true, force: true });
  });

  it("loses no call across five deploys and switches every client within a second", async () => {
    const sessions = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const session = new McpSession(endpoint);
        await session.open();
        return session;
      }),
    );
    const calls: Call[] = [];
    let running = true;
    const loops = sessions.map(async (session) => {
      while (running) calls.push(await session.call("which", {}));
    });

    const deployedAt: number[] = [];
    const issuedAt: number[] = [];
    const inFlight: Promise<Call>[] = [];
    for (let generation = 2; generation <= DEPLOYS + 1; generation++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      // A call that is still running on the old version when the deploy lands.
      inFlight.push(sessions[0]?.call("slow", { ms: 600 }) as Promise<Call>);
      await new Promise((resolve) => setTimeout(resolve, 100));
      issuedAt[generation] = performance.now();
      const deployed = await api.admin.post("servers/swap/deploy", { version: generation });
      expect(deployed.status, JSON.stringify(deployed.body)).toBe(200);
      deployedAt[generation] = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    running = false;
    await Promise.all(loops);
    const slowCalls = await Promise.all(inFlight);

    const failed = [...calls, ...slowCalls].filter((call) => call.generation === null);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(calls.length).toBeGreaterThan(100);

    // Each slow call started before deploy N and answered from generation N-1.
    expect(slowCalls.map((call) => call.generation)).toEqual([1, 2, 3, 4, 5]);

    for (let generation = 2; generation <= DEPLOYS + 1; generation++) {
      const deployed = deployedAt[generation] as number;
      // Calls sent a second or more after the deploy returned all see it (or a later one).
      const late = calls.filter((call) => call.sentAt >= deployed + 1000 && (call.generation ?? 0) < generation);
      expect(late, `generation ${generation}`).toEqual([]);
      // And no call answered before the deploy was issued saw the new version early.
      const early = calls.filter(
        (call) => call.doneAt < (issuedAt[generation] as number) && (call.generation ?? 0) >= generation,
      );
      expect(early, `generation ${generation}`).toEqual([]);
    }
    // The first call answered by each new version came within a second of its deploy.
    const switchTimes = [];
    for (let generation = 2; generation <= DEPLOYS + 1; generation++) {
      const first = calls.find((call) => call.generation === generation);
      expect(first, `generation ${generation} served`).toBeDefined();
      switchTimes.push((first as Call).doneAt - (deployedAt[generation] as number));
    }
    expect(Math.max(...switchTimes)).toBeLessThan(1000);
  }, 60_000);
});
