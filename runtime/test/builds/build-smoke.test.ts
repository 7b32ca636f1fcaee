// The build's smoke run: each tool the plan marks safe is called once with its example input
// before the version is stored. A crash, a refusal of its own example or a malformed result goes
// back to the model; an upstream that cannot be reached from here is skipped.

import { smokeVerdict } from "@isola/control/builds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnthropic, recorded, withToolInput } from "../support/fake-anthropic.ts";
import { buildClient, startBuildApi, startModel, stepsOf } from "./build-harness.ts";

const text = (value: string, isError = false) => ({ result: { content: [{ type: "text", text: value }], isError } });

describe("what a smoke call says about the code", () => {
  it.each([
    ["an answer", text("20 C is 68 F"), "passed"],
    ["an answer without isError", { result: { content: [] } }, "passed"],
    [
      "an upstream that cannot be resolved",
      text("egress failed: cannot resolve api.example.com: ENOTFOUND", true),
      "skipped",
    ],
    [
      "a connection that failed, wrapped in the tool's words",
      text("lookup: egress failed: the connection to x failed", true),
      "skipped",
    ],
    [
      "a host the code may not reach",
      text('egress refused: "evil.example" is not in the approved hosts', true),
      "failed",
    ],
    ["the tool's own error", text("Invalid arguments: value must be a number", true), "failed"],
    ["an error without words", { result: { content: [], isError: true } }, "failed"],
    ["a result that is no MCP result", { result: "68" }, "failed"],
    ["a crash", { error: new Error("the tool used more CPU than allowed") }, "failed"],
  ])("%s: %s", (_name, outcome, verdict) => {
    expect(smokeVerdict(outcome).kind).toBe(verdict);
  });
});

describe("a build's smoke run", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let builds: ReturnType<typeof buildClient>;

  beforeAll(async () => {
    fake = await startModel();
    api = await startBuildApi();
    builds = buildClient(api.admin);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });

  /** code-units with convert_temperature broken: it throws for every input. */
  function brokenUnits() {
    const good = recorded("code-units");
    const use = good.content.find((block) => block.type === "tool_use") as unknown as {
      input: { files: Record<string, string> };
    };
    const source = use.input.files["index.ts"] as string;
    const broken = source.replace(
      "const kelvin = toKelvin(value, from);",
      'const kelvin = toKelvin(value, from); if (kelvin > 0) throw new Error("conversion table missing");',
    );
    expect(broken).not.toBe(source);
    return withToolInput(good, { files: { "index.ts": broken } });
  }

  it("calls every safe tool with its example, and stores the version when all answer", async () => {
    fake.queue(answer.message("plan-units"));
    const created = await builds.create("A server that converts temperatures and lengths", "units-smoke");
    fake.queue(answer.message("code-units"));
    await builds.confirm(await builds.until(created.id, "waiting"));
    await builds.until(created.id, "succeeded");
    const events = await builds.events(created.id);
    expect(events.find((event) => event.type === "smoke")?.data).toEqual({
      passed: ["convert_temperature", "convert_length", "list_units"],
      skipped: [],
      failed: 0,
    });
  });

  it("sends a tool that fails its own example back to the model, and deploys the repair", async () => {
    fake.queue(answer.message("plan-units"));
    const created = await builds.create("A server that converts temperatures and lengths", "units-broken");
    fake.queue(answer.message(brokenUnits()), answer.message("code-units"));
    await builds.confirm(await builds.until(created.id, "waiting"));
    const done = await builds.until(created.id, "succeeded");
    expect(done.round).toBe(2);
    const events = await builds.events(created.id);
    expect(stepsOf(events)).toEqual([
      "plan",
      "code",
      "check",
      "smoke",
      "repair",
      "check",
      "smoke",
      "version",
      "deploy",
    ]);
    const failed = events.find((event) => event.type === "check.failed")?.data.errors as {
      step: string;
      message: string;
    }[];
    expect(failed).toHaveLength(1);
    expect(failed[0]?.step).toBe("smoke");
    expect(failed[0]?.message).toMatch(/convert_temperature, called with its example input .*conversion table missing/);
    // The repair request told the model.
    expect(fake.requests.at(-1)?.raw).toContain("conversion table missing");
    // Nothing was stored for the broken round.
    expect(done.version).toBe(1);
  });

  it("fails the build when the last round still fails its smoke run, naming the tool", async () => {
    fake.queue(answer.message("plan-units"));
    const created = await builds.create("A server that converts temperatures and lengths", "units-never");
    fake.queue(answer.message(brokenUnits()), answer.message(brokenUnits()), answer.message(brokenUnits()));
    await builds.confirm(await builds.until(created.id, "waiting"));
    const failed = await builds.until(created.id, "failed");
    expect(failed.error?.message).toMatch(/after 3 rounds.*convert_temperature/);
    expect(failed.version).toBeNull();
  });
});
