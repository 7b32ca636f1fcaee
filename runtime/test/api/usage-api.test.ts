import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyHistogram, type UsageView } from "@isola/schema";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, type Client, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { freePort } from "../support/cli.ts";
import { type IsolaProcess, spawnIsola } from "../support/isola-process.ts";
import { eventually } from "../support/wait.ts";
import { memberOf, newOrg } from "./orgs-people.ts";

// The usage API reconciles exactly with the calls a client made: per tool and outcome, through
// the real MCP SDK client, on both databases; and after a graceful restart of a real `isola
// start` with calls still pending in the recorder (one still running when SIGTERM lands).

const METERED_SOURCE = `
import { defineServer, tool, z } from "isola";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export default defineServer({
  name: "metered",
  tools: {
    echo: tool({ description: "Says it back", input: z.object({ text: z.string().max(20) }), run: ({ text }) => text }),
    fail: tool({
      description: "Always fails",
      input: z.object({}),
      run: () => {
        throw new Error("failing on purpose");
      },
    }),
    slow: tool({
      description: "Answers after a pause",
      input: z.object({ ms: z.number().int().max(5000) }),
      run: async ({ ms }, ctx) => {
        ctx.log.info("slow call started");
        await sleep(ms);
        return "done";
      },
    }),
  },
});
`;

/** The calls a test makes, by kind. */
interface Plan {
  ok: number;
  failing: number;
  invalid: number;
  unknown: number;
}

async function connect(url: string): Promise<McpClient> {
  const client = new McpClient({ name: "usage-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Makes the planned calls and checks each answer, so that the counts below are the calls that happened. */
async function makeCalls(client: McpClient, plan: Plan): Promise<void> {
  for (let i = 0; i < plan.ok; i++) {
    expect(await client.callTool({ name: "echo", arguments: { text: `call ${i}` } })).toMatchObject({
      content: [{ type: "text", text: `call ${i}` }],
    });
  }
  for (let i = 0; i < plan.failing; i++) {
    const result = await client.callTool({ name: "fail", arguments: {} });
    expect(result).toMatchObject({ isError: true, content: [{ text: expect.stringContaining("failing on purpose") }] });
  }
  for (let i = 0; i < plan.invalid; i++) {
    const result = await client.callTool({ name: "echo", arguments: { text: "far more than twenty characters" } });
    expect(result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^Invalid arguments/) }] });
  }
  for (let i = 0; i < plan.unknown; i++) {
    const refused = await client.callTool({ name: "no_such_tool", arguments: {} }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(McpError);
    expect((refused as McpError).code).toBe(ErrorCode.InvalidParams);
  }
}

const outcomes = (counts: Partial<Record<string, number>>) => ({
  ok: 0,
  tool_error: 0,
  protocol_error: 0,
  limit: 0,
  timeout: 0,
  crash: 0,
  ...counts,
});

/** What the API must say for `plan` (plus `slow` ok calls): each tool, its outcomes, in order of calls. */
function expectReconciled(view: UsageView, plan: Plan, slow = 0): void {
  const calls = plan.ok + plan.failing + plan.invalid + plan.unknown + slow;
  expect(view.totals).toMatchObject({
    calls,
    errors: plan.failing + plan.invalid + plan.unknown,
    outcomes: outcomes({
      ok: plan.ok + slow,
      tool_error: plan.failing + plan.invalid,
      protocol_error: plan.unknown,
    }),
  });
  const tools = Object.fromEntries(view.tools.map((t) => [t.tool, { calls: t.calls, outcomes: t.outcomes }]));
  expect(tools).toEqual({
    echo: { calls: plan.ok + plan.invalid, outcomes: outcomes({ ok: plan.ok, tool_error: plan.invalid }) },
    fail: { calls: plan.failing, outcomes: outcomes({ tool_error: plan.failing }) },
    ...(slow ? { slow: { calls: slow, outcomes: outcomes({ ok: slow }) } } : {}),
    // Calls of tools the server does not have: refused (-32602), counted under one label.
    "(unknown)": { calls: plan.unknown, outcomes: outcomes({ protocol_error: plan.unknown }) },
  });
  expect(view.series.reduce((sum, step) => sum + step.calls, 0)).toBe(calls);
  expect(view.totals.bytesIn).toBeGreaterThan(0);
  expect(view.totals.bytesOut).toBeGreaterThan(0);
  expect(view.totals.latencyMs.p50).toBeGreaterThan(0);
  expect(view.totals.latencyMs.p99).toBeGreaterThanOrEqual(view.totals.latencyMs.p50 ?? 0);
}

describe.each(databaseBackends())("the usage API on $name", (backend) => {
  let api: Api;
  let serverId: string;
  let orgId: string;

  beforeAll(async () => {
    api = await startApi(backend, {}, { listen: true });
    expect((await api.admin.post("servers", { slug: "metered", name: "Metered", authMode: "public" })).status).toBe(
      201,
    );
    const version = await api.admin.post("servers/metered/versions", { source: METERED_SOURCE });
    expect(version.status, JSON.stringify(version.body)).toBe(201);
    expect((await api.admin.post("servers/metered/deploy", { version: 1 })).status).toBe(200);
    // A server with no code, whose usage rows the SQL test writes itself.
    expect((await api.admin.post("servers", { slug: "stored", name: "Stored", authMode: "public" })).status).toBe(201);
    const row = await api.stores.db
      .selectFrom("servers")
      .select(["id", "org_id"])
      .where("slug", "=", "stored")
      .executeTakeFirstOrThrow();
    serverId = row.id;
    orgId = row.org_id;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  it("reconciles exactly with the calls an MCP client made, per tool and outcome", async () => {
    const plan: Plan = { ok: 7, failing: 3, invalid: 2, unknown: 2 };
    const client = await connect(`${api.url}/metered/mcp`);
    try {
      await makeCalls(client, plan);
    } finally {
      await client.close();
    }
    // The recorder flushes every 5 s: wait for it, then the numbers must be exact.
    const view = await eventually(async () => {
      const response = await api.admin.get<UsageView>("servers/metered/usage");
      return response.body.totals.calls >= 14 ? response.body : undefined;
    }, 15_000);
    expectReconciled(view, plan);
    expect(view).toMatchObject({ server: "metered", step: "1h" });
    expect(view.series).toHaveLength(25);
    // The same calls by the minute, over the last ten minutes.
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const minutes = await api.admin.get<UsageView>(`servers/metered/usage?from=${from}&step=1m`);
    expect(minutes.status).toBe(200);
    expect(minutes.body.totals).toEqual(view.totals);
    expect(minutes.body.series.length).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it("sums minutes, versions and callers into steps, and percentiles from the histograms", async () => {
    const histogram = (bucket: number, calls: number) => {
      const cells = emptyHistogram();
      cells[bucket] = calls;
      return cells;
    };
    const row = (minute: string, tool: string, outcome: string, calls: number, bucket: number, extra = {}) => ({
      server_id: serverId,
      org_id: orgId,
      minute: new Date(minute),
      version: 1,
      tool,
      caller: "key-a",
      outcome: outcome as "ok",
      calls,
      duration_ms: calls * 4,
      bytes_in: calls * 10,
      bytes_out: calls * 100,
      latency_histogram: histogram(bucket, calls),
      ...extra,
    });
    await api.stores.db
      .insertInto("usage_minutely")
      .values([
        // Bucket 3 holds (3, 5] ms; bucket 10 (50, 75] ms; bucket 0 up to 1 ms.
        row("2026-01-01T10:00:00Z", "search", "ok", 10, 3),
        row("2026-01-01T10:00:00Z", "search", "ok", 5, 3, { caller: "key-b", version: 2 }),
        row("2026-01-01T10:14:00Z", "search", "ok", 5, 10),
        row("2026-01-01T10:20:00Z", "search", "tool_error", 2, 10),
        row("2026-01-01T10:59:00Z", "fetch", "timeout", 1, 0),
        // Outside the window, on both sides.
        row("2026-01-01T09:59:00Z", "search", "ok", 100, 0),
        row("2026-01-01T11:00:00Z", "search", "ok", 100, 0),
      ])
      .execute();
    const response = await api.admin.get<UsageView>(
      "servers/stored/usage?from=2026-01-01T10:00:00Z&to=2026-01-01T11:00:00Z&step=15m",
    );
    expect(response.status).toBe(200);
    const view = response.body;
    expect(view).toMatchObject({
      server: "stored",
      from: "2026-01-01T10:00:00.000Z",
      to: "2026-01-01T11:00:00.000Z",
      step: "15m",
    });
    expect(view.series.map((s) => [s.start, s.calls, s.errors])).toEqual([
      ["2026-01-01T10:00:00.000Z", 20, 0],
      ["2026-01-01T10:15:00.000Z", 2, 2],
      ["2026-01-01T10:30:00.000Z", 0, 0],
      ["2026-01-01T10:45:00.000Z", 1, 1],
    ]);
    // 15 calls in (3, 5] and 5 in (50, 75]: the median is fast, p95 and p99 slow.
    expect(view.series[0]?.latencyMs).toEqual({ p50: 4.333, p95: 70, p99: 75, mean: 4 });
    expect(view.series[2]?.latencyMs).toEqual({ p50: null, p95: null, p99: null, mean: null });
    expect(view.totals).toMatchObject({
      calls: 23,
      errors: 3,
      outcomes: outcomes({ ok: 20, tool_error: 2, timeout: 1 }),
      bytesIn: 230,
      bytesOut: 2300,
    });
    expect(view.tools.map((t) => [t.tool, t.calls, t.outcomes.ok, t.latencyMs.p50])).toEqual([
      ["search", 22, 20, 4.467],
      ["fetch", 1, 0, 1],
    ]);
    // By the day: one step holding the whole day, the rows outside the hour included.
    const day = await api.admin.get<UsageView>(
      "servers/stored/usage?from=2026-01-01T10:00:00Z&to=2026-01-01T11:00:00Z&step=1d",
    );
    expect(day.body).toMatchObject({ from: "2026-01-01T00:00:00.000Z", to: "2026-01-02T00:00:00.000Z" });
    expect(day.body.series.map((s) => s.calls)).toEqual([223]);
  });

  describe("refuses", () => {
    it.each([
      ["from=yesterday", /from/],
      ["to=2026-01-01", /to/],
      ["step=1s", /step/],
      ["step=0m", /step/],
      ["step=367d", /step is at most 366d/],
      ["from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", /from must be before to/],
      ["from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z&step=1m", /makes 2880 steps; at most 1440/],
      ["tool=echo", /tool/],
    ])("?%s with a 400 problem", async (query, message) => {
      const response = await api.admin.get(`servers/metered/usage?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ type: "urn:isola:problem:invalid-request", status: 400 });
      expect(response.body.detail).toMatch(message);
    });

    it("strangers (401), other orgs and unknown servers (404); a viewer may read", async () => {
      expect((await api.anonymous.get("servers/metered/usage")).status).toBe(401);
      expect((await api.admin.get("servers/no-such-server/usage")).status).toBe(404);
      const outsider: Client = (await newOrg(api)).owner.session;
      expect((await outsider.get("servers/metered/usage")).status).toBe(404);
      const org = (await api.admin.get("me")).body.orgs[0].slug;
      const viewer = await memberOf(api, org, "viewer");
      const seen = await viewer.session.get<UsageView>("servers/stored/usage?from=2026-01-01T10:00:00Z&step=1d");
      expect(seen.status).toBe(200);
    });
  });
});

describe("usage across a graceful restart of isola start", () => {
  let dir: string;
  let port: number;
  let token: string;
  let running: IsolaProcess | undefined;
  const start = () =>
    spawnIsola({
      ISOLA_DATA_DIR: join(dir, "data"),
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ISOLA_ADMIN_EMAIL: "owner@example.com",
      ISOLA_ADMIN_TOKEN: token,
      ISOLA_SANDBOX_SHARDS: "1",
    });
  const call = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "isola-usage-restart-"));
    port = await freePort();
    token = `isola_pat_${randomBytes(24).toString("base64url")}`;
  });
  afterAll(async () => {
    running?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses no accepted call: pending and running calls are written before it exits", async () => {
    running = await start();
    expect((await call("POST", "servers", { slug: "metered", name: "M", authMode: "public" })).status).toBe(201);
    expect((await call("POST", "servers/metered/versions", { source: METERED_SOURCE })).status).toBe(201);
    expect((await call("POST", "servers/metered/deploy", { version: 1 })).status).toBe(200);

    const plan: Plan = { ok: 5, failing: 2, invalid: 1, unknown: 1 };
    const client = await connect(`http://127.0.0.1:${port}/metered/mcp`);
    await makeCalls(client, plan);
    // One call still running when SIGTERM lands: the drain lets it finish, then usage is flushed.
    const slow = client.callTool({ name: "slow", arguments: { ms: 1000 } });
    // Running in its isolate (it says so in the live log) when SIGTERM lands.
    await eventually(async () => {
      const logs = await call("GET", "servers/metered/logs?limit=5");
      return logs.body.items.some((line: { message: string }) => line.message === "slow call started")
        ? true
        : undefined;
    }, 10_000);
    const first = running;
    first.child.kill("SIGTERM");
    expect(await slow).toMatchObject({ content: [{ type: "text", text: "done" }] });
    expect(await first.exited).toEqual({ code: 0, signal: null });
    await client.close().catch(() => {});
    const said = first.lines.map((line) => (JSON.parse(line) as { msg?: string }).msg);
    expect(said).toContain("stopped cleanly");

    running = await start();
    const usage = await call("GET", "servers/metered/usage");
    expect(usage.status).toBe(200);
    expectReconciled(usage.body as UsageView, plan, 1);
    running.child.kill("SIGTERM");
    expect((await running.exited).code).toBe(0);
    running = undefined;
  }, 120_000);
});
