// The model failing while it writes the code: a stream cut mid-answer, a 429, a 500, an error
// event mid-stream. Each is retried (a model.retry event says why) and the build goes on; when
// the retries run out the build fails with the model's error, never silently.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnswer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { buildClient, startBuildApi, startModel, typesOf } from "./build-harness.ts";

describe("the code step when the model fails", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let builds: ReturnType<typeof buildClient>;
  let serial = 0;

  beforeAll(async () => {
    fake = await startModel();
    api = await startBuildApi();
    builds = buildClient(api.admin);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });
  beforeEach(() => {
    expect(fake.pending()).toBe(0);
  });

  /** A weather build confirmed with `code` as the model's answers to the code step, in order. */
  async function codeAnswered(...code: FakeAnswer[]) {
    fake.queue(answer.message("plan-weather"));
    const created = await builds.create("A server with weather forecasts for any city", `retry-${++serial}`);
    const waiting = await builds.until(created.id, "waiting");
    const asked = fake.requests.length;
    fake.queue(...code);
    await builds.confirm(waiting, { units: "metric" });
    return { id: created.id, asked };
  }

  it.each([
    ["a stream cut mid-answer", answer.cut("code-weather", 9), /cut off|connection failed/],
    ["a 429", answer.rateLimited(0), /rate limited \(429 rate_limit_error/],
    ["a 500", answer.serverError(), /unavailable \(500 api_error/],
    ["an overloaded error event mid-stream", answer.streamError("code-weather", 6), /overloaded/],
  ])("retries %s and deploys", async (_, failure, reason) => {
    const { id, asked } = await codeAnswered(failure, answer.message("code-weather"));
    const done = await builds.until(id, "succeeded");
    expect(done).toMatchObject({ round: 1, version: 1 });
    const events = await builds.events(id);
    const retries = events.filter((e) => e.type === "model.retry");
    expect(retries).toHaveLength(1);
    expect(retries[0]?.data).toMatchObject({ attempt: 1, reason: expect.stringMatching(reason) });
    // The retry is one round: one code event, counting both attempts.
    const code = events.filter((e) => e.type === "code");
    expect(code.map((e) => e.data.usage)).toEqual([expect.objectContaining({ attempts: 2 })]);
    expect(fake.requests.length - asked).toBe(2);
    // Both attempts asked the same thing.
    const [first, second] = fake.requests.slice(asked).map((r) => r.body.messages);
    expect(second).toEqual(first);
    expect(typesOf(events).indexOf("model.retry")).toBeLessThan(typesOf(events).indexOf("code"));
  });

  it("retries a 429 then a 500, each shown, and deploys", async () => {
    const { id } = await codeAnswered(answer.rateLimited(0), answer.serverError(), answer.message("code-weather"));
    await builds.until(id, "succeeded");
    const retries = (await builds.events(id)).filter((e) => e.type === "model.retry").map((e) => e.data);
    expect(retries).toEqual([
      expect.objectContaining({ attempt: 1, reason: expect.stringMatching(/rate limited/), delayMs: 0 }),
      expect.objectContaining({ attempt: 2, reason: expect.stringMatching(/unavailable/) }),
    ]);
  });

  it("fails with the model's error when the retries run out, and writes nothing", async () => {
    const { id } = await codeAnswered(...Array.from({ length: 4 }, () => answer.rateLimited(0)));
    const failed = await builds.until(id, "failed");
    expect(failed.error?.message).toMatch(/^the code request to \S+ failed after 4 attempts: rate limited \(429/);
    expect(failed.version).toBeNull();
    const events = await builds.events(id);
    expect(events.filter((e) => e.type === "model.retry").map((e) => e.data.attempt)).toEqual([1, 2, 3]);
    expect(typesOf(events)).not.toContain("code");
    expect(events.at(-1)).toMatchObject({ type: "failed", data: { model: "rate-limited" } });
  });
});
