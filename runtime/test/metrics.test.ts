// GET /metrics through the composed app: who may read it, the exposition format, and whether the
// counters add up to what the test did (tool calls, HTTP requests, a killed shard, a build).

import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/http/app.ts";
import { buildClient, MODEL_KEY, startModel } from "./builds/build-harness.ts";
import { type Api, deployHello, startApi } from "./support/api-harness.ts";
import { answer, type FakeAnthropic } from "./support/fake-anthropic.ts";
import { openSession, quickDatabase, send } from "./support/mcp.ts";
import { eventually } from "./support/wait.ts";

const TOKEN = randomBytes(32).toString("hex");
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Family {
  help: string | undefined;
  type: string | undefined;
}
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format (0.0.4): HELP and TYPE lines per family, then `name{labels} value` lines. */
function parseExposition(text: string): { families: Map<string, Family>; samples: Sample[] } {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const family = (name: string) => {
    const known = families.get(name) ?? { help: undefined, type: undefined };
    families.set(name, known);
    return known;
  };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, "HELP" | "TYPE", string, string];
      if (kind === "HELP") family(name).help = rest;
      else family(name).type = rest;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const [, name, labelText, value] = sample as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = (raw as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    // Go's ParseFloat, which Prometheus uses, reads NaN and Inf in any case (prom-client writes "Nan").
    const parsed = /^[+-]?inf$/i.test(value)
      ? Number(`${value.startsWith("-") ? "-" : ""}Infinity`)
      : /^nan$/i.test(value)
        ? Number.NaN
        : Number(value);
    if (Number.isNaN(parsed) && !/^nan$/i.test(value)) throw new Error(`not a number: ${line}`);
    samples.push({ name, labels, value: parsed });
  }
  return { families, samples };
}

let api: Api;
let model: FakeAnthropic;

async function scrape() {
  const response = await api.app.inject({ method: "GET", url: "/metrics", headers: AUTH });
  expect(response.statusCode, response.body).toBe(200);
  return parseExposition(response.body);
}

/** The value of the sample with exactly these labels (0 when the series does not exist yet). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const { samples } = await scrape();
  const found = samples.filter(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

beforeAll(async () => {
  // The build's model is the fake Messages API (the SDK reads ANTHROPIC_BASE_URL when a build makes its client).
  model = await startModel();
  api = await startApi(quickDatabase(), { ISOLA_METRICS_TOKEN: TOKEN, ANTHROPIC_API_KEY: MODEL_KEY }, { listen: true });
}, 120_000);
afterAll(async () => {
  await api?.close();
  await model?.close();
});

describe("who may read /metrics", () => {
  it("is a 404 when ISOLA_METRICS_TOKEN is unset (metrics off)", async () => {
    const logger = pino({ level: "silent" });
    const app = await buildApp({ stores: api.stores, logger, plugins: [] });
    try {
      for (const headers of [{}, AUTH]) {
        const response = await app.inject({ method: "GET", url: "/metrics", headers });
        expect(response.statusCode).toBe(404);
        expect(response.body).not.toContain("isola_");
      }
    } finally {
      await app.close();
    }
  });

  it.each([
    ["no Authorization", {}],
    ["a wrong token", { authorization: `Bearer ${randomBytes(32).toString("hex")}` }],
    ["the token as Basic", { authorization: `Basic ${TOKEN}` }],
    ["the token alone", { authorization: TOKEN }],
    ["the token cut short", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
  ])("refuses %s with 401 and no metrics", async (_, headers: Record<string, string>) => {
    const response = await api.app.inject({ method: "GET", url: "/metrics", headers });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toMatch(/^Bearer /);
    expect(response.body).not.toContain("isola_");
    expect(response.body).not.toContain(TOKEN);
  });

  it("answers the token holder in the Prometheus text format, over a real socket too", async () => {
    const response = await fetch(`${api.url}/metrics`, { headers: AUTH });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { families, samples } = parseExposition(await response.text());
    for (const [name, family] of families) {
      expect(family.help, name).toBeTruthy();
      expect(family.type, name).toMatch(/^(counter|gauge|histogram|summary)$/);
    }
    for (const name of [
      "isola_http_requests_total",
      "isola_http_request_duration_seconds",
      "isola_tool_calls_total",
      "isola_tool_call_duration_seconds",
      "isola_sandbox_shards",
      "isola_sandbox_isolates",
      "isola_sandbox_pool_heap_bytes",
      "isola_sandbox_pool_heap_budget_bytes",
      "isola_sandbox_cold_starts_total",
      "isola_sandbox_shard_restarts_total",
      "isola_sandbox_quarantines_total",
      "isola_builds_total",
      "isola_build_duration_seconds",
      "isola_bus_up",
      "isola_limits_degraded",
      "isola_node_roles",
      // prom-client's process metrics, under our prefix.
      "isola_process_resident_memory_bytes",
      "isola_nodejs_eventloop_lag_seconds",
      "isola_nodejs_active_handles_total",
    ]) {
      expect(families.has(name), name).toBe(true);
    }
    const sample = (name: string) => samples.find((s) => s.name === name)?.value;
    expect(sample("isola_sandbox_shards")).toBe(1);
    expect(sample("isola_bus_up")).toBe(1);
    expect(sample("isola_limits_degraded")).toBe(0);
    expect(sample("isola_process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(
      samples
        .filter((s) => s.name === "isola_node_roles")
        .map((s) => s.labels.role)
        .sort(),
    ).toEqual(["control", "runtime", "web", "worker"]);
  });
});

describe("what the counters count", () => {
  it("counts HTTP responses by method and status class, without the URL", async () => {
    const before = await metric("isola_http_requests_total", { method: "DELETE", status_class: "4xx" });
    const durationBefore = await metric("isola_http_request_duration_seconds_count", {
      method: "DELETE",
      status_class: "4xx",
    });
    for (const path of ["/healthz", "/no-such-page", `/no-such-page-${randomBytes(4).toString("hex")}`]) {
      const response = await api.app.inject({ method: "DELETE", url: path });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
    }
    expect(await metric("isola_http_requests_total", { method: "DELETE", status_class: "4xx" })).toBe(before + 3);
    expect(await metric("isola_http_request_duration_seconds_count", { method: "DELETE", status_class: "4xx" })).toBe(
      durationBefore + 3,
    );
    const { samples } = await scrape();
    expect(samples.some((s) => Object.values(s.labels).some((value) => value.includes("no-such-page")))).toBe(false);
  });

  it("counts tool calls by server and outcome, each timed once, and the one cold start", async () => {
    const slug = await deployHello(api.admin, "metered");
    const coldBefore = await metric("isola_sandbox_cold_starts_total");
    const timedOkBefore = await metric("isola_tool_call_duration_seconds_count", { outcome: "ok" });
    const timedBefore = await metric("isola_tool_call_duration_seconds_bucket", {
      outcome: "protocol_error",
      le: "+Inf",
    });
    const url = `${api.url}/${slug}/mcp`;
    const session = await openSession(url);
    const call = (id: number, name: string, args: unknown) =>
      send(url, {
        body: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } },
        headers: session.headers,
      });

    const first = await call(2, "hello", { name: "Ada" });
    expect(first.json.result.content[0].text).toBe("Hello, Ada!");
    const second = await call(3, "hello", { name: "Grace" });
    expect(second.json.result.isError).toBeUndefined();
    const badArguments = await call(4, "hello", { name: "" });
    expect(badArguments.json.result.isError).toBe(true);
    const unknownTool = await call(5, "no_such_tool", {});
    expect(unknownTool.json.error.code).toBe(-32602);

    expect(await metric("isola_tool_calls_total", { server: slug, outcome: "ok" })).toBe(2);
    expect(await metric("isola_tool_calls_total", { server: slug, outcome: "tool_error" })).toBe(1);
    expect(await metric("isola_tool_calls_total", { server: slug, outcome: "protocol_error" })).toBe(1);
    expect(await metric("isola_tool_calls_total", { server: slug, outcome: "crash" })).toBe(0);
    expect(await metric("isola_tool_call_duration_seconds_count", { outcome: "ok" })).toBe(timedOkBefore + 2);
    expect(await metric("isola_tool_call_duration_seconds_bucket", { outcome: "protocol_error", le: "+Inf" })).toBe(
      timedBefore + 1,
    );
    // The first call loaded the version into an isolate; the second found it warm (a refused call never runs).
    expect(await metric("isola_sandbox_cold_starts_total")).toBe(coldBefore + 1);
    // The pool's size comes with the shard's next heartbeat (every second).
    await eventually(async () => ((await metric("isola_sandbox_isolates")) >= 1 ? true : undefined), 5000);
    // Its heap is counted against a budget the shards' heartbeats report (a few hundred MiB by default).
    const heap = await metric("isola_sandbox_pool_heap_bytes");
    const budget = await metric("isola_sandbox_pool_heap_budget_bytes");
    expect(heap).toBeGreaterThan(1024 ** 2);
    expect(budget).toBeGreaterThan(heap);
  });

  it("counts a shard killed under it as a crash, and the replacement serves", async () => {
    const starts = api.logs
      .map((line) => JSON.parse(line) as { msg?: string; event?: { type: string; pid?: number } })
      .filter((line) => line.msg === "sandbox shard-start");
    const pid = starts.at(-1)?.event?.pid;
    expect(pid).toBeTypeOf("number");
    const before = await metric("isola_sandbox_shard_restarts_total", { reason: "crashed" });
    process.kill(pid as number, "SIGKILL");
    await eventually(
      async () =>
        (await metric("isola_sandbox_shard_restarts_total", { reason: "crashed" })) === before + 1 ? true : undefined,
      10_000,
    );
    // Nothing was in flight: no server is quarantined for it.
    expect(await metric("isola_sandbox_quarantines_total")).toBe(0);
    expect(await metric("isola_sandbox_shards")).toBe(1);
    const slug = await deployHello(api.admin, "after-the-crash");
    const url = `${api.url}/${slug}/mcp`;
    const session = await openSession(url);
    const answered = await eventually(async () => {
      const reply = await send(url, {
        body: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "hello", arguments: { name: "Kim" } } },
        headers: session.headers,
      });
      return reply.json?.result?.isError ? undefined : reply;
    }, 10_000);
    expect(answered.json.result.content[0].text).toBe("Hello, Kim!");
  });

  it("counts a build the worker finished, with its duration", async () => {
    const builds = buildClient(api.admin);
    const before = await metric("isola_builds_total", { outcome: "succeeded" });
    model.queue(answer.message("plan-weather"));
    const queued = await builds.create("A server with weather forecasts for any city", "metered-weather");
    const waiting = await builds.until(queued.id, "waiting");
    // Waiting for the user is not a finished build.
    expect(await metric("isola_builds_total", { outcome: "succeeded" })).toBe(before);
    model.queue(answer.message("code-weather"));
    await builds.confirm(waiting, { units: "metric" });
    await builds.until(queued.id, "succeeded", 60_000);
    expect(await metric("isola_builds_total", { outcome: "succeeded" })).toBe(before + 1);
    expect(await metric("isola_builds_total", { outcome: "failed" })).toBe(0);
    expect(await metric("isola_build_duration_seconds_count", { outcome: "succeeded" })).toBe(before + 1);
    expect(await metric("isola_build_duration_seconds_sum", { outcome: "succeeded" })).toBeGreaterThan(0);
  }, 90_000);
});
