// How the Anthropic build model fails: what it retries (429, 5xx, 529, cut streams, time-outs,
// invalid output once), how long it waits, what it reports, and the ModelError it ends with.
// A fake Messages API over real HTTP; backoff waits are recorded instead of slept.
import { createAnthropicModel, ModelError, type RetryPolicy, readGuestApi } from "@isola/control/builds";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  answer,
  type FakeAnthropic,
  recorded,
  startFakeAnthropic,
  textMessage,
  withToolInput,
} from "../support/fake-anthropic.ts";

const KEY = "sk-ant-api03-test-key-for-the-fake";
const MODELS = { plan: "claude-sonnet-5-5", code: "claude-opus-5-5" };
const BRIEF = { prompt: "A server that gives me the weather forecast for a city" };
const guestApi = readGuestApi();
let fake: FakeAnthropic;
const previousBaseUrl = process.env.ANTHROPIC_BASE_URL;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  process.env.ANTHROPIC_BASE_URL = fake.url;
});
afterEach(() => {
  fake.requests.length = 0;
  expect(fake.pending()).toBe(0);
});
afterAll(async () => {
  if (previousBaseUrl === undefined) delete process.env.ANTHROPIC_BASE_URL;
  else process.env.ANTHROPIC_BASE_URL = previousBaseUrl;
  await fake.close();
});

/** A model whose waits are recorded, not slept (unless `realSleep`), and whose jitter is fixed at 0. */
function setup(options: { apiKey?: string; retry?: Partial<RetryPolicy>; realSleep?: boolean } = {}) {
  const sleeps: number[] = [];
  const retries: [number, string, number][] = [];
  const model = createAnthropicModel({
    apiKey: "apiKey" in options ? options.apiKey : KEY,
    models: MODELS,
    guestApi,
    retry: { baseDelayMs: 100, maxDelayMs: 1000, ...options.retry },
    random: () => 0,
    ...(options.realSleep ? {} : { sleep: async (ms: number) => void sleeps.push(ms) }),
  });
  const onRetry = (attempt: number, reason: string, delayMs: number) => void retries.push([attempt, reason, delayMs]);
  return { model, sleeps, retries, onRetry };
}

/** The ModelError a promise rejects with. */
async function modelError(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => new Error("expected a ModelError, the request succeeded"),
    (e: unknown) => e,
  );
  if (!(error instanceof ModelError)) throw error;
  return error;
}

const weatherPlan = () => {
  const block = recorded("plan-weather").content.find((b) => b.type === "tool_use");
  return block?.type === "tool_use" ? block.input : {};
};

describe("retried, then answered", () => {
  it("429: waits what retry-after says, reports the retry, then succeeds", async () => {
    const { model, sleeps, retries, onRetry } = setup();
    fake.queue(answer.rateLimited(2), answer.message("plan-weather"));
    const { plan, usage } = await model.plan(BRIEF, { onRetry });
    expect(plan).toEqual(weatherPlan());
    expect(usage.attempts).toBe(2);
    expect(sleeps).toEqual([2000]);
    expect(retries).toEqual([[1, expect.stringMatching(/^rate limited \(429 rate_limit_error: .+\)$/), 2000]]);
    expect(fake.requests).toHaveLength(2);
  });

  it("500 twice: backs off exponentially, then succeeds on the third attempt", async () => {
    const { model, sleeps, retries, onRetry } = setup();
    fake.queue(answer.serverError(), answer.serverError(), answer.message("plan-weather"));
    const { usage } = await model.plan(BRIEF, { onRetry });
    expect(usage.attempts).toBe(3);
    // Equal jitter with random() = 0: half of 100 ms, then half of 200 ms.
    expect(sleeps).toEqual([50, 100]);
    expect(retries.map(([attempt, reason]) => [attempt, reason])).toEqual([
      [1, "unavailable (500 api_error: Internal server error)"],
      [2, "unavailable (500 api_error: Internal server error)"],
    ]);
  });

  it("529 overloaded: retried", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(answer.overloaded(), answer.message("code-weather"));
    const { files, usage } = await model.code(
      { prompt: BRIEF.prompt, plan: weatherPlan() as never, answers: {}, approvedEgress: [], secretNames: [] },
      { onRetry },
    );
    expect(Object.keys(files)).toEqual(["index.ts"]);
    expect(usage.attempts).toBe(2);
    expect(retries[0]?.[1]).toBe("overloaded (529 overloaded_error: Overloaded)");
  });

  it("a stream cut mid-response: retried, and the text streamed again from the start", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(answer.cut("plan-weather", 14), answer.message("plan-weather"));
    const deltas: string[] = [];
    const { plan, usage } = await model.plan(BRIEF, { onRetry, onText: (delta) => deltas.push(delta) });
    expect(plan).toEqual(weatherPlan());
    expect(usage.attempts).toBe(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.[1]).toMatch(/^the response was cut off: /);
    // The cut attempt's partial JSON came first; the whole call's JSON ends the text.
    expect(deltas.join("").endsWith(JSON.stringify(plan))).toBe(true);
    expect(deltas.join("").length).toBeGreaterThan(JSON.stringify(plan).length);
  });

  it("an overloaded_error event mid-stream: retried", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(answer.streamError("plan-weather", 5), answer.message("plan-weather"));
    const { usage } = await model.plan(BRIEF, { onRetry });
    expect(usage.attempts).toBe(2);
    expect(retries[0]?.[1]).toMatch(/^overloaded \(the stream reported overloaded_error/);
  });

  it("a response slower than the idle timeout: abandoned and retried", async () => {
    const { model, retries, onRetry } = setup({ retry: { idleTimeoutMs: 150 } });
    fake.queue(answer.slow(3000, answer.message("plan-weather")), answer.message("plan-weather"));
    const started = Date.now();
    const { usage } = await model.plan(BRIEF, { onRetry });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(usage.attempts).toBe(2);
    expect(retries[0]?.[1]).toMatch(/timed out/);
  });
});

describe("invalid output", () => {
  it("gets one corrective retry that says what was wrong, in the same conversation", async () => {
    const { model, sleeps, retries, onRetry } = setup();
    const bad = withToolInput(recorded("plan-weather"), {
      ...weatherPlan(),
      tools: [],
      egress: ["https://api.open-meteo.com/v1"],
    });
    fake.queue(answer.message(bad), answer.message("plan-weather"));
    const { plan, usage } = await model.plan(BRIEF, { onRetry });
    expect(plan).toEqual(weatherPlan());
    expect(usage.attempts).toBe(2);
    // Tokens of both attempts count.
    expect(usage.inputTokens).toBe(2 * 1893);
    expect(sleeps).toEqual([]);
    expect(retries).toEqual([[1, expect.stringMatching(/^invalid output: tools: .*\negress\.0: /s), 0]]);

    const messages = fake.requests[1]?.body.messages as { role: string; content: unknown }[];
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    // The model's own turn goes back whole (thinking blocks keep their signature), then the verdict.
    const thinking = recorded("plan-weather").content[0];
    expect(messages[1]?.content).toEqual([
      thinking,
      {
        type: "tool_use",
        id: "toolu_01HvB6kq2NwR8sYtE4mPz9Ua",
        name: "submit_plan",
        input: bad.content[1]?.type === "tool_use" ? bad.content[1].input : {},
      },
    ]);
    expect(messages[2]?.content).toEqual([
      {
        type: "tool_result",
        tool_use_id: "toolu_01HvB6kq2NwR8sYtE4mPz9Ua",
        is_error: true,
        content: expect.stringMatching(/^That submit_plan input was rejected:\ntools: .*\nCall submit_plan again/s),
      },
    ]);
  });

  it("an answer without the tool call is asked for the call", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(
      answer.message(textMessage("Sure! Here is a plan: two tools, find_city and get_forecast.")),
      answer.message("plan-weather"),
    );
    const { usage } = await model.plan(BRIEF, { onRetry });
    expect(usage.attempts).toBe(2);
    expect(retries[0]?.[1]).toBe("invalid output: no submit_plan call (stop reason: end_turn)");
    const messages = fake.requests[1]?.body.messages as { role: string; content: unknown }[];
    expect(messages[2]).toEqual({
      role: "user",
      content: "You answered without calling submit_plan. Call submit_plan now with the complete input.",
    });
  });

  it("invalid twice: a ModelError 'invalid-output' naming the problem, without using every attempt", async () => {
    const { model, retries, onRetry } = setup();
    const bad = withToolInput(recorded("code-weather"), { files: { "../escape.ts": "x" } });
    fake.queue(answer.message(bad), answer.message(bad));
    const error = await modelError(
      model.code(
        { prompt: BRIEF.prompt, plan: weatherPlan() as never, answers: {}, approvedEgress: [], secretNames: [] },
        { onRetry },
      ),
    );
    expect(error.kind).toBe("invalid-output");
    expect(error.message).toMatch(/^the code request to claude-opus-5-5 failed after 2 attempts: invalid output: /);
    expect(error.message).toContain("files.../escape.ts: file paths");
    expect(error.message).toContain("index.ts (the entry point) is missing");
    expect(fake.requests).toHaveLength(2);
    expect(retries).toHaveLength(1);
  });

  it("an answer cut at the output limit is asked again, shorter", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(
      answer.message({ ...recorded("code-weather"), stop_reason: "max_tokens" }),
      answer.message("code-weather"),
    );
    const { usage } = await model.code(
      { prompt: BRIEF.prompt, plan: weatherPlan() as never, answers: {}, approvedEgress: [], secretNames: [] },
      { onRetry },
    );
    expect(usage.attempts).toBe(2);
    expect(retries[0]?.[1]).toBe("invalid output: the answer was cut off at the output limit: make it shorter");
  });

  it("a refusal is not retried", async () => {
    const { model } = setup();
    fake.queue(answer.message({ ...textMessage("I can't help with that."), stop_reason: "refusal" }));
    const error = await modelError(model.plan(BRIEF));
    expect(error.kind).toBe("refused");
    expect(fake.requests).toHaveLength(1);
  });
});

describe("failed for good", () => {
  it("persistent 500: 'unavailable' after the configured attempts, with the last status in the message", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(answer.serverError(), answer.serverError(), answer.overloaded(), answer.serverError());
    const error = await modelError(model.plan(BRIEF, { onRetry }));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toBe(
      "the plan request to claude-sonnet-5-5 failed after 4 attempts: unavailable (500 api_error: Internal server error)",
    );
    expect(fake.requests).toHaveLength(4);
    expect(retries.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
  });

  it("honours a smaller maxAttempts", async () => {
    const { model } = setup({ retry: { maxAttempts: 2 } });
    fake.queue(answer.rateLimited(1), answer.rateLimited(1));
    const error = await modelError(model.plan(BRIEF));
    expect(error.kind).toBe("rate-limited");
    expect(error.message).toContain("after 2 attempts");
    expect(fake.requests).toHaveLength(2);
  });

  it("a retry-after longer than we wait fails at once", async () => {
    const { model, retries, onRetry } = setup({ retry: { maxRetryAfterMs: 10_000 } });
    fake.queue(answer.rateLimited(120));
    const error = await modelError(model.plan(BRIEF, { onRetry }));
    expect(error.kind).toBe("rate-limited");
    expect(error.message).toMatch(
      /^the plan request to claude-sonnet-5-5 failed: rate limited \(429 .*\); the API asked to wait 120 s, longer than we wait$/,
    );
    expect(retries).toEqual([]);
  });

  it("time-outs every time: 'timeout'", async () => {
    const { model } = setup({ retry: { idleTimeoutMs: 100, maxAttempts: 2 } });
    fake.queue(answer.slow(3000, answer.message("plan-weather")), answer.slow(3000, answer.message("plan-weather")));
    const error = await modelError(model.plan(BRIEF));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/after 2 attempts: timed out/);
  });

  it("no key: 'no-key' saying how to set one, and no request leaves", async () => {
    const { model } = setup({ apiKey: undefined });
    const error = await modelError(model.plan(BRIEF));
    expect(error.kind).toBe("no-key");
    expect(error.message).toMatch(/set ANTHROPIC_API_KEY in the instance's environment/);
    expect(error.message).toMatch(/PUT \/api\/v1\/orgs\/\{org\}\/model-key/);
    expect(fake.requests).toHaveLength(0);
  });

  it("a key the API refuses (401): 'no-key', not retried", async () => {
    const { model } = setup();
    fake.queue({ kind: "error", status: 401, type: "authentication_error", message: "invalid x-api-key" });
    const error = await modelError(model.plan(BRIEF));
    expect(error.kind).toBe("no-key");
    expect(error.message).toMatch(/401 authentication_error: invalid x-api-key.*check ANTHROPIC_API_KEY/);
    expect(fake.requests).toHaveLength(1);
  });

  it("an error of ours (a progress callback that throws) is not retried and comes out as it is", async () => {
    const { model, retries, onRetry } = setup();
    fake.queue(answer.message("plan-weather"));
    const failing = model.plan(BRIEF, {
      onRetry,
      onText: () => {
        throw new RangeError("the event log is full");
      },
    });
    await expect(failing).rejects.toThrow(new RangeError("the event log is full"));
    expect(retries).toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it("an unknown model (404): 'rejected', not retried", async () => {
    const { model } = setup();
    fake.queue({ kind: "error", status: 404, type: "not_found_error", message: "model: claude-opus-9 not found" });
    const error = await modelError(model.plan(BRIEF));
    expect(error.kind).toBe("rejected");
    expect(error.message).toContain("model: claude-opus-9 not found");
    expect(fake.requests).toHaveLength(1);
  });
});

describe("cancel", () => {
  it("aborting during a response ends the request at once with 'cancelled'", async () => {
    const { model } = setup();
    fake.queue(answer.slow(5000, answer.message("plan-weather")));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await modelError(model.plan(BRIEF, { signal: controller.signal }));
    expect(error.kind).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.requests).toHaveLength(1);
  });

  it("aborting during the backoff wait stops there", async () => {
    const { model } = setup({ realSleep: true, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    fake.queue(answer.serverError());
    const controller = new AbortController();
    const error = await modelError(
      model.plan(BRIEF, { signal: controller.signal, onRetry: () => setTimeout(() => controller.abort(), 20) }),
    );
    expect(error.kind).toBe("cancelled");
    expect(fake.requests).toHaveLength(1);
  });

  it("an already aborted signal sends nothing", async () => {
    const { model } = setup();
    const error = await modelError(model.plan(BRIEF, { signal: AbortSignal.abort() }));
    expect(error.kind).toBe("cancelled");
    expect(fake.requests).toHaveLength(0);
  });
});
