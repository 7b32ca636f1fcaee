// Changing a live server with a build while clients call it without pause: the old version
// answers until the new one is live, no call fails, and the build's version event says which
// tools were added, changed and removed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { openSession, send } from "../support/mcp.ts";
import { sleep } from "../support/wait.ts";
import { buildClient, startBuildApi, startModel, stepsOf } from "./build-harness.ts";

const CLIENTS = 6;
const V1_TOOLS = ["convert_length", "convert_temperature", "list_units"];
const V2_TOOLS = ["convert_length", "convert_temperature", "convert_weight"];

interface Outcome {
  sentAt: number;
  ok: boolean;
  /** The tools a tools/list answered, or the call's error. */
  detail: string;
}

describe("iterating on a live server under load", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let builds: ReturnType<typeof buildClient>;
  let plans: string;
  let url: string;

  beforeAll(async () => {
    // A plan whose limits the load never reaches: this test is about the swap.
    plans = mkdtempSync(join(tmpdir(), "isola-plans-"));
    const unlimited = { id: "default", name: "Load", maxServers: 10, callsPerMonth: 10_000_000, memoryMb: 64 };
    writeFileSync(join(plans, "plans.json"), JSON.stringify([{ ...unlimited, rateLimitPerMinute: 1_000_000 }]));
    fake = await startModel();
    api = await startBuildApi({ ISOLA_PLANS_FILE: join(plans, "plans.json") });
    builds = buildClient(api.admin);
    // Version 1, built from a brief like any server.
    fake.queue(answer.message("plan-units"));
    const created = await builds.create("A server that converts temperatures and lengths between units", "units");
    fake.queue(answer.message("code-units"));
    await builds.confirm(await builds.until(created.id, "waiting"));
    await builds.until(created.id, "succeeded");
    url = `${api.url}/units/mcp`;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
    if (plans) rmSync(plans, { recursive: true, force: true });
  });

  async function client() {
    const session = await openSession(url);
    let id = 1;
    const request = async (method: string, params: Record<string, unknown>) => {
      const sent = await send(url, { body: { jsonrpc: "2.0", id: ++id, method, params }, headers: session.headers });
      return sent;
    };
    return {
      async convert(): Promise<Outcome> {
        const sentAt = Date.now();
        const answered = await request("tools/call", {
          name: "convert_temperature",
          arguments: { value: 100, from: "celsius", to: "fahrenheit" },
        }).catch((error: unknown) => ({ status: 0, json: { error: String(error) } }));
        const result = answered.json?.result;
        const ok = answered.status === 200 && result?.isError !== true && result?.structuredContent?.value === 212;
        return { sentAt, ok, detail: ok ? "212" : JSON.stringify(answered.json).slice(0, 300) };
      },
      async list(): Promise<Outcome> {
        const sentAt = Date.now();
        const answered = await request("tools/list", {});
        const names = (answered.json?.result?.tools ?? []).map((tool: { name: string }) => tool.name).sort();
        return { sentAt, ok: answered.status === 200 && names.length > 0, detail: names.join(",") };
      },
    };
  }

  it("loses no call while a build changes the server, and says what changed", async () => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, client));
    const calls: Outcome[] = [];
    const lists: Outcome[] = [];
    let running = true;
    const load = [
      ...clients.map(async (c) => {
        while (running) calls.push(await c.convert());
      }),
      (async () => {
        const lister = clients[0] as Awaited<ReturnType<typeof client>>;
        while (running) {
          lists.push(await lister.list());
          await sleep(20);
        }
      })(),
    ];
    await sleep(300);

    const asked = fake.requests.length;
    fake.queue(answer.message("iterate-units-plan"));
    const iteration = await api.admin.post("servers/units/builds", {
      prompt:
        "Add weight conversion (kilograms, grams, pounds, ounces), let convert_length take yards and inches, and drop list_units",
    });
    expect(iteration.status, JSON.stringify(iteration.body)).toBe(201);
    expect(iteration.body).toMatchObject({ kind: "iterate", server: "units" });
    const waiting = await builds.until(iteration.body.id, "waiting");
    fake.queue(answer.message("iterate-units-code"));
    await builds.confirm(waiting);
    const done = await builds.until(iteration.body.id, "succeeded");
    const liveAt = Date.now();
    await sleep(1500);
    running = false;
    await Promise.all(load);

    const failed = calls.filter((call) => !call.ok);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(calls.length).toBeGreaterThan(100);
    // Every list named one version's tools whole: the old until the swap, then the new.
    expect(lists.filter((list) => !list.ok)).toEqual([]);
    const versions = lists.map((list) => list.detail);
    expect(new Set(versions)).toEqual(new Set([V1_TOOLS.join(","), V2_TOOLS.join(",")]));
    const firstNew = versions.indexOf(V2_TOOLS.join(","));
    expect(versions.slice(firstNew)).not.toContain(V1_TOOLS.join(","));
    // Half a second after the build said it succeeded, every list is the new one.
    const late = lists.filter((list) => list.sentAt > liveAt + 500).map((list) => list.detail);
    expect(late.length).toBeGreaterThan(0);
    expect(late).not.toContain(V1_TOOLS.join(","));

    expect(done).toMatchObject({ version: 2, round: 1, url: `${api.url}/units/mcp` });
    const events = await builds.events(iteration.body.id);
    expect(stepsOf(events)).toEqual(["plan", "code", "check", "smoke", "version", "deploy"]);
    expect(events.find((e) => e.type === "version")?.data.diff).toEqual({
      added: ["convert_weight"],
      changed: ["convert_length"],
      removed: ["list_units"],
    });
    // The model saw the live server: its tools and its source, in the plan and the code requests.
    for (const request of fake.requests.slice(asked)) {
      expect(request.raw).toContain('This brief changes the live server \\"units\\"');
      expect(request.raw).toContain("list_units: tool({");
    }
    // The new tool answers.
    const session = await openSession(url);
    const weighed = await send(url, {
      body: {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "convert_weight", arguments: { value: 1, from: "pound", to: "gram" } },
      },
      headers: session.headers,
    });
    expect(weighed.json.result.structuredContent).toEqual({ value: 453.59237, unit: "gram" });
  }, 60_000);
});
