// A build's events as the wizard shows them: each event's line, the steps' states, the model's
// text, tokens and time, the last errors, and a history replayed or overlapped without doubling.
import { describe, expect, it } from "vitest";
import {
  applyBuildEvent,
  type BuildEventInput,
  emptyProgress,
  foldBuildEvents,
  formatDiagnostic,
  MODEL_TEXT_TAIL,
  type StepName,
  type StepStatus,
} from "../app/lib/build-events.ts";

let seq = 0;
const ev = (type: string, data: Record<string, unknown> = {}): BuildEventInput => ({ seq: ++seq, type, data });
const usage = { model: "m", inputTokens: 1200, outputTokens: 300, ms: 2500, attempts: 1 };
const diagnostic = { step: "types", file: "index.ts", line: 12, column: 5, message: "Type 'string' is not 'number'." };

const statusOf = (events: BuildEventInput[], name: StepName): StepStatus | undefined =>
  foldBuildEvents(events).steps.find((step) => step.name === name)?.status;

describe("one event's line", () => {
  const cases: [string, BuildEventInput, { tone: string; text: RegExp; details?: string[] }][] = [
    ["queued", ev("queued", { kind: "new" }), { tone: "info", text: /^Queued/ }],
    ["plan step", ev("step", { step: "plan" }), { tone: "info", text: /^Planning the server$/ }],
    ["repair step", ev("step", { step: "repair", round: 2 }), { tone: "info", text: /^Repair round 2/ }],
    ["smoke step", ev("step", { step: "smoke", round: 1, tools: ["a", "b"] }), { tone: "info", text: /2 tools/ }],
    [
      "plan with its usage",
      ev("plan", { plan: { tools: [{}, {}] }, usage }),
      { tone: "ok", text: /^Planned 2 tools \(1200 in \/ 300 out tokens, 2\.5 s\)$/ },
    ],
    [
      "a retry",
      ev("model.retry", { attempt: 1, reason: "429", delayMs: 1500 }),
      { tone: "warn", text: /\(429\); attempt 2 in 1\.5 s/ },
    ],
    [
      "code",
      ev("code", { round: 1, files: ["index.ts"], bytes: 900, usage: { ...usage, attempts: 2 } }),
      { tone: "ok", text: /^Wrote 1 file, 900 bytes .*2 attempts\)$/ },
    ],
    [
      "a failed check lists file:line:col",
      ev("check.failed", { round: 1, errors: [diagnostic], ms: 800 }),
      {
        tone: "error",
        text: /^Round 1: 1 problem found in 0\.8 s$/,
        details: ["index.ts:12:5 Type 'string' is not 'number'."],
      },
    ],
    [
      "smoke with a skip",
      ev("smoke", { passed: ["a"], skipped: [{ tool: "b", reason: "egress failed: x" }], failed: 0 }),
      { tone: "ok", text: /1 passed, 1 skipped, 0 failed/, details: ["b skipped: egress failed: x"] },
    ],
    ["smoke with a failure", ev("smoke", { passed: [], skipped: [], failed: 1 }), { tone: "error", text: /1 failed/ }],
    [
      "version with its diff",
      ev("version", { number: 3, hash: "h", diff: { added: ["a"], changed: [], removed: ["b"] } }),
      { tone: "ok", text: /^Version 3 stored: added a; removed b$/ },
    ],
    ["deployed", ev("deployed", { url: "https://x/w/mcp" }), { tone: "ok", text: /^Live at https:\/\/x\/w\/mcp$/ }],
    ["failed", ev("failed", { message: "no more rounds" }), { tone: "error", text: /^Build failed: no more rounds$/ }],
    ["cancelled", ev("cancelled"), { tone: "warn", text: /^Build cancelled$/ }],
  ];
  it.each(cases)("%s", (_name, event, expected) => {
    const [line] = applyBuildEvent(emptyProgress(), event).lines;
    expect(line?.tone).toBe(expected.tone);
    expect(line?.text).toMatch(expected.text);
    expect(line?.details).toEqual(expected.details);
  });

  it.each([
    ["model.text", ev("model.text", { text: "hi" })],
    ["an unknown type", ev("something.new", { x: 1 })],
    ["a step it does not know", ev("step", { step: "dance" })],
  ])("%s adds no line", (_name, event) => {
    expect(applyBuildEvent(emptyProgress(), event).lines).toEqual([]);
  });
});

describe("steps and phase", () => {
  const planned = () => [ev("queued"), ev("step", { step: "plan" }), ev("plan", { plan: { tools: [] }, usage })];
  const cases: [string, () => BuildEventInput[], Partial<Record<StepName, StepStatus>>, string][] = [
    ["planning", () => [ev("queued"), ev("step", { step: "plan" })], { plan: "running", code: "pending" }, "planning"],
    ["waiting", () => [...planned(), ev("waiting")], { plan: "done", confirm: "running" }, "waiting"],
    [
      "coding after confirm",
      () => [...planned(), ev("waiting"), ev("confirmed"), ev("step", { step: "code", round: 1 })],
      { confirm: "done", code: "running" },
      "building",
    ],
    [
      "repairing after a failed check",
      () => [
        ev("step", { step: "code", round: 1 }),
        ev("step", { step: "check", round: 1 }),
        ev("check.failed", { round: 1, errors: [diagnostic], ms: 1 }),
        ev("step", { step: "repair", round: 2 }),
      ],
      { check: "failed", code: "running" },
      "building",
    ],
    [
      "succeeded",
      () => [
        ev("step", { step: "check", round: 1 }),
        ev("check.passed", { round: 1, tools: ["a"], ms: 1 }),
        ev("step", { step: "version" }),
        ev("version", { number: 1, diff: {} }),
        ev("step", { step: "deploy" }),
        ev("deployed", { url: "u" }),
        ev("succeeded"),
      ],
      { check: "done", version: "done", deploy: "done" },
      "succeeded",
    ],
    [
      "failed while checking",
      () => [ev("step", { step: "check", round: 3 }), ev("failed", { message: "m" })],
      { check: "failed" },
      "failed",
    ],
  ];
  it.each(cases)("%s", (_name, events, steps, phase) => {
    const history = events();
    const progress = foldBuildEvents(history);
    expect(progress.phase).toBe(phase);
    for (const [name, status] of Object.entries(steps)) expect(statusOf(history, name as StepName)).toBe(status);
  });
});

describe("the history as a whole", () => {
  it("adds up tokens and model time over plan and code", () => {
    const progress = foldBuildEvents([
      ev("plan", { plan: { tools: [] }, usage }),
      ev("code", { files: [], bytes: 0, usage: { ...usage, inputTokens: 800, outputTokens: 700, ms: 500 } }),
    ]);
    expect(progress.tokens).toEqual({ input: 2000, output: 1000 });
    expect(progress.modelMs).toBe(3000);
  });

  it("keeps the model's text of the current request only, and its tail", () => {
    const long = "x".repeat(MODEL_TEXT_TAIL - 1);
    const progress = foldBuildEvents([
      ev("step", { step: "plan" }),
      ev("model.text", { text: "planning words" }),
      ev("step", { step: "code", round: 1 }),
      ev("model.text", { text: "ab" }),
      ev("model.text", { text: long }),
    ]);
    expect(progress.modelText).toHaveLength(MODEL_TEXT_TAIL);
    expect(progress.modelText.startsWith("b")).toBe(true);
    expect(progress.modelText).not.toContain("planning");
  });

  it("ignores events it already has, so a resumed stream that overlaps the history adds nothing twice", () => {
    const history = [ev("queued"), ev("step", { step: "plan" }), ev("model.text", { text: "abc" })];
    const once = foldBuildEvents(history);
    const again = foldBuildEvents([...history.slice(1), ev("model.text", { text: "d" })], once);
    expect(again.lines).toHaveLength(2);
    expect(again.modelText).toBe("abcd");
    expect(again.lastSeq).toBe((history.at(-1)?.seq ?? 0) + 1);
  });

  it("orders events by seq whatever order they came in", () => {
    const a = ev("step", { step: "plan" });
    const b = ev("model.text", { text: "1" });
    const c = ev("model.text", { text: "2" });
    expect(foldBuildEvents([c, a, b]).modelText).toBe("12");
  });

  it("keeps the last check's errors, clears them once a check passes, and takes a failure's own", () => {
    const failed = ev("check.failed", { round: 1, errors: [diagnostic], ms: 1 });
    expect(foldBuildEvents([failed]).errors).toEqual(["index.ts:12:5 Type 'string' is not 'number'."]);
    expect(foldBuildEvents([failed, ev("check.passed", { tools: [], ms: 1 })]).errors).toEqual([]);
    const end = foldBuildEvents([failed, ev("failed", { message: "gave up", errors: [{ ...diagnostic, line: 3 }] })]);
    expect(end.failure).toBe("gave up");
    expect(end.errors).toEqual(["index.ts:3:5 Type 'string' is not 'number'."]);
  });

  it("takes the URL from the deploy", () => {
    expect(foldBuildEvents([ev("deployed", { url: "https://i.example/w/mcp" })]).url).toBe("https://i.example/w/mcp");
  });
});

describe("a diagnostic in words", () => {
  it.each([
    [diagnostic, "index.ts:12:5 Type 'string' is not 'number'."],
    [{ step: "size", file: "index.ts", line: 0, column: 0, message: "too big" }, "index.ts: too big"],
    [{ step: "smoke", file: "", line: 0, column: 0, message: "get_forecast threw" }, "[smoke] get_forecast threw"],
    [{ message: "bare" }, "bare"],
  ])("%j", (input, expected) => {
    expect(formatDiagnostic(input)).toBe(expected);
  });
});
