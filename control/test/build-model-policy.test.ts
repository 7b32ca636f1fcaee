// The build model's pure parts: retry decisions, backoff, retry-after, model config, the
// checks on the model's answers and how diagnostics read in a repair prompt.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import { DEFAULT_MODELS, parseConfig } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { acceptsForcedToolUse } from "../src/builds/model/model-config.ts";
import { planTool, writeFilesTool } from "../src/builds/model/output-tools.ts";
import { formatDiagnostics } from "../src/builds/model/prompts.ts";
import {
  AttemptTimeout,
  backoffDelay,
  classifyFailure,
  DEFAULT_RETRY_POLICY,
  retryAfterMs,
} from "../src/builds/model/retry.ts";

const apiError = (status: number | undefined, type: string, headers: Record<string, string> = {}) =>
  APIError.generate(
    status,
    { type: "error", error: { type, message: `${type} happened` } },
    undefined,
    new Headers(headers),
  );

describe("which failures are retried, and as what", () => {
  it.each([
    ["429", apiError(429, "rate_limit_error", { "retry-after": "3" }), "rate-limited", true, 3000],
    ["500", apiError(500, "api_error"), "unavailable", true, undefined],
    ["502", apiError(502, "api_error"), "unavailable", true, undefined],
    ["529 overloaded", apiError(529, "overloaded_error"), "unavailable", true, undefined],
    ["overloaded mid-stream (no status)", apiError(undefined, "overloaded_error"), "unavailable", true, undefined],
    ["408", apiError(408, "timeout_error"), "timeout", true, undefined],
    ["401", apiError(401, "authentication_error"), "no-key", false, undefined],
    ["403", apiError(403, "permission_error"), "rejected", false, undefined],
    ["400", apiError(400, "invalid_request_error"), "rejected", false, undefined],
    ["404 (unknown model)", apiError(404, "not_found_error"), "rejected", false, undefined],
    ["413", apiError(413, "request_too_large"), "rejected", false, undefined],
    ["our watchdog", new AttemptTimeout(5000), "timeout", true, undefined],
    ["the SDK's timeout", new APIConnectionTimeoutError(), "timeout", true, undefined],
    [
      "connection refused",
      new APIConnectionError({ cause: new Error("connect ECONNREFUSED") }),
      "unavailable",
      true,
      undefined,
    ],
    ["an abort nobody asked for", new APIUserAbortError(), "unavailable", true, undefined],
    [
      "a body cut mid-stream",
      new TypeError("terminated", { cause: new Error("other side closed") }),
      "unavailable",
      true,
      undefined,
    ],
    [
      "a stream that ended early",
      new Error("stream ended without producing a Message with role=assistant"),
      "unavailable",
      true,
      undefined,
    ],
  ])("%s -> %s (retry: %s)", (_name, error, kind, retryable, wait) => {
    const failure = classifyFailure(error, false);
    expect(failure).toMatchObject({ kind, retryable });
    expect(failure?.retryAfterMs).toBe(wait);
    expect(failure?.reason.length).toBeGreaterThan(5);
  });

  it("an error that is not the model's nor the network's is none of these (the caller rethrows it)", () => {
    expect(classifyFailure(new TypeError("cannot read properties of undefined"), false)).toBeUndefined();
  });

  it("names the status and the API's message in the reason", () => {
    expect(classifyFailure(apiError(500, "api_error"), false)?.reason).toBe(
      "unavailable (500 api_error: api_error happened)",
    );
  });

  it("a fired cancel signal wins over whatever the SDK threw", () => {
    expect(classifyFailure(apiError(500, "api_error"), true)).toMatchObject({ kind: "cancelled", retryable: false });
  });
});

describe("retry-after", () => {
  const now = Date.parse("2026-11-21T12:00:00Z");
  it.each([
    [{ "retry-after": "2" }, 2000],
    [{ "retry-after": "0.5" }, 500],
    [{ "retry-after-ms": "1500", "retry-after": "9" }, 1500],
    [{ "retry-after": "Sat, 21 Nov 2026 12:00:07 GMT" }, 7000],
    [{ "retry-after": "Sat, 21 Nov 2026 11:00:00 GMT" }, 0],
    [{ "retry-after": "soon" }, undefined],
    [{}, undefined],
  ])("%j -> %s ms", (headers, expected) => {
    expect(retryAfterMs(new Headers(headers), now)).toBe(expected);
  });
});

describe("backoff", () => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1000, maxDelayMs: 5000 };
  it.each([
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0, 1000],
    [3, 0.5, 3000],
    [4, 1, 5000],
    [10, 1, 5000],
  ])("after attempt %i with random %d: %i ms", (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });
});

describe("models per step (ISOLA_MODEL_PLAN, ISOLA_MODEL_CODE)", () => {
  it("defaults to the current Sonnet for plans and Opus for code", () => {
    const parsed = parseConfig({});
    expect(parsed.ok && parsed.config.buildModels).toEqual({ plan: DEFAULT_MODELS.plan, code: DEFAULT_MODELS.code });
    expect(parsed.ok && parsed.config.llmModel).toBe(DEFAULT_MODELS.llm);
    expect(DEFAULT_MODELS).toEqual({ plan: "claude-sonnet-5-5", code: "claude-opus-5-5", llm: "claude-haiku-5-5" });
  });

  it("reads ISOLA_MODEL_PLAN and ISOLA_MODEL_CODE", () => {
    const parsed = parseConfig({ ISOLA_MODEL_PLAN: "claude-haiku-4-5", ISOLA_MODEL_CODE: "claude-fable-5-2" });
    expect(parsed.ok && parsed.config.buildModels).toEqual({ plan: "claude-haiku-4-5", code: "claude-fable-5-2" });
  });

  it("names a malformed id", () => {
    expect(parseConfig({ ISOLA_MODEL_PLAN: "Claude Opus!", ISOLA_MODEL_CODE: "claude-opus-5-5" })).toEqual({
      ok: false,
      errors: ["ISOLA_MODEL_PLAN: expected a model id such as claude-opus-5-5"],
    });
  });
});

describe("forced tool use", () => {
  it.each([
    ["claude-3-5-sonnet-20241022", true],
    ["claude-sonnet-4-5-20250929", true],
    ["claude-opus-4-1", true],
    ["claude-haiku-4-5", true],
    ["claude-sonnet-5", false],
    ["claude-sonnet-5-5", false],
    ["claude-opus-5-5", false],
    ["claude-fable-5-2", false],
    ["my-proxy-alias", false],
  ])("%s takes a forced tool call: %s", (model, forced) => {
    expect(acceptsForcedToolUse(model)).toBe(forced);
  });
});

describe("the model's files", () => {
  it("accepts relative .ts paths with an index.ts", () => {
    const files = { "index.ts": "export {}", "lib/github.ts": "export const x = 1;" };
    expect(writeFilesTool.read({ files })).toEqual({ ok: true, value: files });
  });

  it.each([
    ["no files key", {}, /files/],
    ["no index.ts", { files: { "main.ts": "x" } }, /index\.ts .*missing/],
    ["an absolute path", { files: { "index.ts": "x", "/etc/passwd.ts": "x" } }, /relative/],
    ["a .. segment", { files: { "index.ts": "x", "../up.ts": "x" } }, /relative|segments/],
    ["a declaration file", { files: { "index.ts": "x", "types.d.ts": "x" } }, /declaration/],
    ["a JavaScript file", { files: { "index.ts": "x", "helper.js": "x" } }, /end in \.ts/],
    ["an empty file", { files: { "index.ts": "" } }, /empty/],
    ["a file over 256 KiB", { files: { "index.ts": "x".repeat(256 * 1024 + 1) } }, /index\.ts/],
    ["a number for text", { files: { "index.ts": 42 } }, /index\.ts/],
    ["an extra key", { files: { "index.ts": "x" }, notes: "hi" }, /notes|Unrecognized/],
  ])("rejects %s", (_name, input, problem) => {
    const result = writeFilesTool.read(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems).toMatch(problem);
  });

  it("rejects a plan that names a tool twice, saying which", () => {
    const tool = { name: "forecast", description: "d", params: [], safeToCall: true };
    const plan = {
      summary: "s",
      server: { name: "n", description: "d" },
      tools: [tool, tool],
      resources: [],
      prompts: [],
      secrets: [],
      egress: [],
      questions: [],
    };
    const result = planTool.read(plan);
    expect(result).toEqual({ ok: false, problems: 'tools: "forecast" appears more than once' });
  });

  it("the plan tool's schema is the plan's zod schema, without $schema", () => {
    const schema = planTool.definition.input_schema as Record<string, unknown>;
    expect(schema.$schema).toBeUndefined();
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual([
      "summary",
      "server",
      "tools",
      "resources",
      "prompts",
      "secrets",
      "egress",
      "questions",
    ]);
  });
});

describe("diagnostics in a repair prompt", () => {
  it("reads file:line:col step message, and leaves out a position there is none of", () => {
    expect(
      formatDiagnostics([
        { step: "types", file: "index.ts", line: 88, column: 47, message: "Argument of type 'number' ... (TS2345)" },
        { step: "injection", file: "", line: 0, column: 0, message: "tool x description: tells the model to ignore" },
      ]),
    ).toBe(
      "index.ts:88:47 types Argument of type 'number' ... (TS2345)\n(server) injection tool x description: tells the model to ignore",
    );
  });
});
