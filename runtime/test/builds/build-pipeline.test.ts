// From a brief to a live server, through the real API, runner, compiler, sandbox and MCP
// endpoint, with the Anthropic Messages API played by a local fake answering recorded messages.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { answer, type FakeAnthropic, startFakeAnthropic } from "../support/fake-anthropic.ts";
import { openSession, send } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";

interface BuildBody {
  id: string;
  status: string;
  server: string | null;
  round: number;
  version: number | null;
  url: string | null;
  plan: { egress: string[]; questions: { id: string }[]; tools: { name: string }[] } | null;
  error: { message: string; errors?: { step: string; message: string }[] } | null;
}

describe("a build, from a brief to a live server", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let previousBaseUrl: string | undefined;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    previousBaseUrl = process.env.ANTHROPIC_BASE_URL;
    // The SDK reads it when a client is made: the runner's model talks to the fake.
    process.env.ANTHROPIC_BASE_URL = fake.url;
    api = await startApi(undefined, { ANTHROPIC_API_KEY: "sk-ant-test-key" }, { listen: true });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
    if (previousBaseUrl === undefined) delete process.env.ANTHROPIC_BASE_URL;
    else process.env.ANTHROPIC_BASE_URL = previousBaseUrl;
  });
  beforeEach(() => {
    expect(fake.pending()).toBe(0);
  });

  const get = async (id: string) => (await api.admin.get(`builds/${id}`)).body as BuildBody;
  const until = (id: string, status: string) =>
    eventually(async () => {
      const build = await get(id);
      if (build.status === status) return build;
      if (["failed", "succeeded", "cancelled"].includes(build.status) && build.status !== status)
        throw new Error(`the build ended ${build.status}: ${JSON.stringify(build.error)}`);
      return undefined;
    }, 60_000);
  const events = async (id: string) =>
    (await api.admin.get(`builds/${id}/events`)).body.items as {
      seq: number;
      type: string;
      data: Record<string, unknown>;
    }[];

  async function planned(slug: string) {
    fake.queue(answer.message("plan-weather"));
    const created = await api.admin.post("builds", {
      prompt: "A server with weather forecasts for any city",
      slug,
      authMode: "public",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "queued", kind: "new", server: null, authMode: "public" });
    return until(created.body.id, "waiting");
  }

  async function confirm(build: BuildBody) {
    const confirmed = await api.admin.post(`builds/${build.id}/confirm`, {
      answers: { units: "metric" },
      approvedEgress: build.plan?.egress ?? [],
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body.status).toBe("confirmed");
    return confirmed.body as BuildBody;
  }

  it("plans, waits for the confirmation, writes, checks, versions and deploys; the server answers", async () => {
    const waiting = await planned("weather");
    expect(waiting.plan?.tools.map((tool) => tool.name)).toEqual(["find_city", "get_forecast"]);
    // Nothing is written before the user confirms.
    expect(fake.requests).toHaveLength(1);
    fake.queue(answer.message("code-weather"));
    await confirm(waiting);
    const done = await until(waiting.id, "succeeded");
    expect(done).toMatchObject({ server: "weather", round: 1, version: 1, url: `${api.url}/weather/mcp` });

    const history = await events(waiting.id);
    expect(history.map((event) => event.seq)).toEqual(history.map((_, i) => i + 1));
    const steps = history.filter((event) => event.type === "step").map((event) => event.data.step);
    expect(steps).toEqual(["plan", "code", "check", "smoke", "version", "deploy"]);
    expect(history.map((event) => event.type)).toEqual(
      expect.arrayContaining([
        "queued",
        "plan",
        "waiting",
        "confirmed",
        "code",
        "check.passed",
        "version",
        "deployed",
        "succeeded",
      ]),
    );
    // The plan's example calls reach for Open-Meteo: skipped when it cannot be reached from here, never failed.
    const smoke = history.find((event) => event.type === "smoke")?.data as {
      passed: string[];
      skipped: { tool: string; reason: string }[];
      failed: number;
    };
    expect(smoke.failed).toBe(0);
    expect([...smoke.passed, ...smoke.skipped.map((skip) => skip.tool)].sort()).toEqual(["find_city", "get_forecast"]);
    for (const skip of smoke.skipped) expect(skip.reason).toMatch(/egress failed: /);
    expect(history.find((event) => event.type === "version")?.data.diff).toEqual({
      added: ["find_city", "get_forecast"],
      changed: [],
      removed: [],
    });

    const url = `${api.url}/weather/mcp`;
    const session = await openSession(url);
    const listed = await send(url, {
      body: { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
      headers: session.headers,
    });
    expect(listed.json.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["find_city", "get_forecast"]);
  });

  it("keeps the declarative tools of the live version when a build changes the code", async () => {
    const first = await planned("weather-declared");
    fake.queue(answer.message("code-weather"));
    await confirm(first);
    await until(first.id, "succeeded");
    // The live version also has a declarative tool (as add_declarative_tools leaves it).
    const declared = {
      name: "weather",
      tools: [{ kind: "static", name: "about", description: "About it", result: "Open-Meteo" }],
    };
    const server = await api.stores.db
      .selectFrom("servers")
      .select("active_version_id")
      .where("slug", "=", "weather-declared")
      .executeTakeFirstOrThrow();
    await api.stores.db
      .updateTable("server_versions")
      .set({ declarative: JSON.stringify(declared) })
      .where("id", "=", server.active_version_id as string)
      .execute();

    fake.queue(answer.message("plan-weather"), answer.message("code-weather"));
    const iterated = await api.admin.post("servers/weather-declared/builds", {
      prompt: "Keep it as it is, but better",
    });
    expect(iterated.status, JSON.stringify(iterated.body)).toBe(201);
    const waiting = await until(iterated.body.id, "waiting");
    await confirm(waiting);
    const done = await until(waiting.id, "succeeded");
    expect(done.version).toBe(2);
    const version = await api.stores.db
      .selectFrom("server_versions as v")
      .innerJoin("servers as s", "s.id", "v.server_id")
      .select(["v.manifest", "v.declarative"])
      .where("s.slug", "=", "weather-declared")
      .where("v.number", "=", 2)
      .executeTakeFirstOrThrow();
    expect(version.manifest.tools.map((tool) => tool.name).sort()).toEqual(["about", "find_city", "get_forecast"]);
    expect(version.declarative).toEqual(declared);
  });

  it("sends compiler errors back to the model and deploys the repaired round", async () => {
    const waiting = await planned("weather-repaired");
    fake.queue(answer.message("code-weather-type-error"), answer.message("code-weather"));
    await confirm(waiting);
    const done = await until(waiting.id, "succeeded");
    expect(done.round).toBe(2);
    const history = await events(waiting.id);
    const failed = history.find((event) => event.type === "check.failed");
    expect((failed?.data.errors as { step: string }[] | undefined)?.[0]?.step).toBe("types");
    expect(history.filter((event) => event.type === "step").map((event) => event.data.step)).toEqual([
      "plan",
      "code",
      "check",
      "repair",
      "check",
      "smoke",
      "version",
      "deploy",
    ]);
    // The repair request carried the diagnostics.
    expect(fake.requests.at(-1)?.raw).toContain("types");
  });

  it("fails after the last round with the last round's errors", async () => {
    const waiting = await planned("weather-broken");
    fake.queue(
      answer.message("code-weather-eval"),
      answer.message("code-weather-eval"),
      answer.message("code-weather-eval"),
    );
    await confirm(waiting);
    const failed = await until(waiting.id, "failed");
    expect(failed.round).toBe(3);
    expect(failed.error?.message).toMatch(/after 3 rounds/);
    expect(failed.error?.errors?.[0]?.step).toBe("code");
    expect(failed.version).toBeNull();
  });

  it("sends code that reaches a host the user did not approve back to the model, then fails naming it", async () => {
    const waiting = await planned("weather-one-host");
    fake.queue(answer.message("code-weather"), answer.message("code-weather"), answer.message("code-weather"));
    // The code fetches both hosts of the plan; the user approves one.
    const confirmed = await api.admin.post(`builds/${waiting.id}/confirm`, { approvedEgress: ["api.open-meteo.com"] });
    expect(confirmed.status).toBe(200);
    const failed = await until(waiting.id, "failed");
    expect(failed.error?.message).toMatch(/after 3 rounds.*geocoding-api\.open-meteo\.com is not an approved host/);
    expect(failed.version).toBeNull();
    // The model was told which hosts it may fetch, and why its code failed.
    expect(fake.requests.at(-1)?.raw).toMatch(/<problems>\\n\(server\) manifest egress: geocoding-api/);
  });

  it("retries a rate-limited and a failing model, showing each retry", async () => {
    fake.queue(answer.rateLimited(0), answer.serverError(), answer.message("plan-weather"));
    const created = await api.admin.post("builds", { prompt: "A server with weather forecasts for any city" });
    const waiting = await until(created.body.id, "waiting");
    const retries = (await events(waiting.id)).filter((event) => event.type === "model.retry");
    expect(retries.map((event) => event.data.attempt)).toEqual([1, 2]);
    await api.admin.post(`builds/${waiting.id}/cancel`);
  });

  describe("refuses", () => {
    it("a confirmation of a build that is not waiting, and hosts or secrets the plan does not name", async () => {
      const waiting = await planned("weather-refusals");
      const foreignHost = await api.admin.post(`builds/${waiting.id}/confirm`, {
        approvedEgress: ["evil.example.com"],
      });
      expect(foreignHost.status).toBe(400);
      expect(foreignHost.body.detail).toMatch(/not in it: evil.example.com/);
      const foreignSecret = await api.admin.post(`builds/${waiting.id}/confirm`, { secrets: { OTHER_TOKEN: "x" } });
      expect(foreignSecret.status).toBe(400);
      const cancelled = await api.admin.post(`builds/${waiting.id}/cancel`);
      expect(cancelled.body.status).toBe("cancelled");
      const late = await api.admin.post(`builds/${waiting.id}/confirm`, {});
      expect(late.status).toBe(409);
      expect((await api.admin.post(`builds/${waiting.id}/cancel`)).status).toBe(409);
    });

    it("a build whose slug is taken, and an unknown build", async () => {
      await api.admin.post("servers", { slug: "taken-slug", name: "x", authMode: "public" });
      const taken = await api.admin.post("builds", { prompt: "A server with weather forecasts", slug: "taken-slug" });
      expect(taken.status).toBe(409);
      expect(taken.body.type).toMatch(/slug-taken/);
      expect((await api.admin.get("builds/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    });
  });
});

describe("a build without a model key", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  it("is refused with how to set one, and nothing is queued", async () => {
    const refused = await api.admin.post("builds", { prompt: "A server with weather forecasts for any city" });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toMatch(/model-not-configured/);
    expect(refused.body.detail).toMatch(/ANTHROPIC_API_KEY/);
    expect(await api.stores.db.selectFrom("builds").select("id").execute()).toEqual([]);
  });
});
