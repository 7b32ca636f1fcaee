import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DEFAULT_LLM_LIMITS,
  type LlmCaller,
  type LlmComplete,
  type LlmRequest,
  NO_LLM_MESSAGE,
  parseLlmRequest,
} from "../src/host/llm.ts";
import { type Harness, startHarness } from "./support/sandbox-harness.ts";

// ctx.llm: tool code in a real shard asks, the supervisor answers with the function it was
// given, within its limits (completions per call, tokens, time), and lets go of every
// completion when its call ends or is cancelled.

const SOURCE = `import { defineServer, tool, z } from "isola";
defineServer({
  name: "asker",
  tools: {
    ask: tool({
      description: "Asks the model, times times",
      input: z.object({ request: z.any(), times: z.number().int().default(1) }),
      async run({ request, times }, ctx) {
        const outcomes: unknown[] = [];
        for (let i = 0; i < times; i++) {
          try {
            outcomes.push({ ok: await ctx.llm.complete(request) });
          } catch (error) {
            outcomes.push({ error: (error as Error).message });
          }
        }
        return { outcomes };
      },
    }),
    fire: tool({
      description: "Asks, and returns without waiting for the answer",
      input: z.object({}),
      run: (_input, ctx) => {
        ctx.llm.complete({ prompt: "later" }).catch(() => {});
        return "returned";
      },
    }),
  },
});
`;

const TIMEOUT_MS = 500;
let harness: Harness;
let server: { id: string; hash: string };
const asked: { request: LlmRequest; caller: LlmCaller }[] = [];
let answer: LlmComplete;
const fine: LlmComplete = async (request) => ({
  text: `echo ${request.prompt}`,
  usage: { inputTokens: 7, outputTokens: 3 },
});

beforeAll(async () => {
  harness = await startHarness({
    shards: 1,
    llm: (request, caller) => {
      asked.push({ request, caller });
      return answer(request, caller);
    },
    llmLimits: { timeoutMs: TIMEOUT_MS },
  });
  server = await harness.deploy("asker", SOURCE);
});
afterAll(() => harness?.close());
beforeEach(() => {
  asked.length = 0;
  answer = fine;
});

type Outcome = { ok?: unknown; error?: string };
async function ask(request: unknown, times = 1, extra = {}): Promise<Outcome[]> {
  const result = (await harness.call(server, "ask", { request, times }, extra)) as {
    structuredContent: { outcomes: Outcome[] };
  };
  return result.structuredContent.outcomes;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("parseLlmRequest", () => {
  const limits = DEFAULT_LLM_LIMITS;
  const rows: [string, unknown, unknown][] = [
    ["a prompt: the default budget", { prompt: "hi" }, { request: { prompt: "hi", maxTokens: 1024 } }],
    [
      "system and budget",
      { prompt: "hi", system: "be brief", maxTokens: 4096 },
      { request: { prompt: "hi", system: "be brief", maxTokens: 4096 } },
    ],
    ["an empty system prompt is none", { prompt: "hi", system: "" }, { request: { prompt: "hi", maxTokens: 1024 } }],
    ["not an object", "hi", { error: "ctx.llm.complete() expects { prompt, system?, maxTokens? }" }],
    ["no prompt", {}, { error: "prompt must be a non-empty string" }],
    ["an empty prompt", { prompt: "" }, { error: "prompt must be a non-empty string" }],
    [
      "a prompt too long",
      { prompt: "x".repeat(100_001) },
      { error: "the prompt is 100001 characters (at most 100000)" },
    ],
    ["a system prompt that is not text", { prompt: "hi", system: 1 }, { error: "system must be a string when given" }],
    [
      "a system prompt too long",
      { prompt: "hi", system: "x".repeat(20_001) },
      { error: "the system prompt is 20001 characters (at most 20000)" },
    ],
    ["a fractional budget", { prompt: "hi", maxTokens: 1.5 }, { error: "maxTokens must be a positive integer" }],
    ["a budget of zero", { prompt: "hi", maxTokens: 0 }, { error: "maxTokens must be a positive integer" }],
    ["a budget over the cap", { prompt: "hi", maxTokens: 4097 }, { error: "maxTokens is at most 4096" }],
  ];
  it.each(rows)("%s", (_, raw, expected) => {
    expect(parseLlmRequest(raw, limits)).toEqual(expected);
  });
});

describe("ctx.llm.complete", () => {
  it("answers tool code with text and usage, and tells the function who asks", async () => {
    answer = async () =>
      // Whatever else the function returns stays on the host.
      ({ text: "hello", usage: { inputTokens: 7, outputTokens: 3, secret: "x" }, raw: "internal" }) as never;
    expect(await ask({ prompt: "hi", system: "s" }, 1, { orgId: "org-1" })).toEqual([
      { ok: { text: "hello", usage: { inputTokens: 7, outputTokens: 3 } } },
    ]);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.request).toEqual({ prompt: "hi", system: "s", maxTokens: 1024 });
    expect(asked[0]?.caller).toMatchObject({ serverId: "asker", orgId: "org-1" });
  });

  it("refuses a bad request without asking the model", async () => {
    expect(await ask({ prompt: "hi", maxTokens: 100_000 })).toEqual([{ error: "ctx.llm: maxTokens is at most 4096" }]);
    expect(await ask({ system: "no prompt" })).toEqual([{ error: "ctx.llm: prompt must be a non-empty string" }]);
    expect(asked).toEqual([]);
  });

  it("allows 5 completions per tool call, then refuses; the next call starts again", async () => {
    const outcomes = await ask({ prompt: "again" }, 6);
    expect(outcomes.slice(0, 5)).toEqual(
      Array(5).fill({ ok: { text: "echo again", usage: { inputTokens: 7, outputTokens: 3 } } }),
    );
    expect(outcomes[5]).toEqual({ error: "ctx.llm: at most 5 completions per tool call" });
    expect(asked).toHaveLength(5);
    expect(await ask({ prompt: "fresh" })).toEqual([
      { ok: { text: "echo fresh", usage: { inputTokens: 7, outputTokens: 3 } } },
    ]);
  });

  it("passes the function's failure on to tool code, bounded", async () => {
    answer = async () => {
      throw new Error(`the model API answered 529 ${"!".repeat(3000)}`);
    };
    const [outcome] = await ask({ prompt: "hi" });
    expect(outcome?.error).toMatch(/^the model API answered 529 !+$/);
    expect(outcome?.error).toHaveLength(1000);
  });

  it("gives up after its timeout and aborts the function's signal", async () => {
    answer = () => new Promise(() => {});
    const started = Date.now();
    expect(await ask({ prompt: "slow" })).toEqual([{ error: `ctx.llm: no answer within ${TIMEOUT_MS} ms` }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(asked[0]?.caller.signal.aborted).toBe(true);
  });

  it("aborts the completion when the client cancels the tool call", async () => {
    answer = () => new Promise(() => {});
    const controller = new AbortController();
    const running = harness.call(server, "ask", { request: { prompt: "cancel me" } }, { signal: controller.signal });
    await until(() => asked.length === 1, "the model is asked");
    controller.abort("the user changed their mind");
    await expect(running).rejects.toMatchObject({ code: "SANDBOX_CANCELLED" });
    await until(() => asked[0]?.caller.signal.aborted === true, "the completion is aborted");
  });

  it("aborts a completion still running when its tool call returns", async () => {
    answer = () => new Promise(() => {});
    expect(await harness.call(server, "fire", {})).toEqual({ content: [{ type: "text", text: "returned" }] });
    await until(() => asked.length === 1 && asked[0]?.caller.signal.aborted === true, "the completion is aborted");
  });
});

describe("ctx.llm on a supervisor without a model", () => {
  it("fails with a message that says so", async () => {
    const bare = await startHarness({ shards: 1 });
    try {
      const deployed = await bare.deploy("asker", SOURCE);
      const result = (await bare.call(deployed, "ask", { request: { prompt: "hi" } })) as {
        structuredContent: { outcomes: Outcome[] };
      };
      expect(result.structuredContent.outcomes).toEqual([{ error: NO_LLM_MESSAGE }]);
      expect(NO_LLM_MESSAGE).toMatch(/no model configured.*ANTHROPIC_API_KEY/);
    } finally {
      await bare.close();
    }
  });
});
