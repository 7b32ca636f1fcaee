// The code the fake answers with is what the build's check step will see: the clean recording
// must compile with every check, and each broken one must fail at the step it is named for.
// The example server in the code prompt must compile too: the model copies its shape.
import { codeSystem, readGuestApi } from "@isola/control/builds";
import { compileServer, SandboxSupervisor } from "@isola/sandbox";
import type { ServerSource } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recorded } from "../support/fake-anthropic.ts";

let sandbox: SandboxSupervisor;
beforeAll(async () => {
  sandbox = new SandboxSupervisor({
    shards: 1,
    loadArtifact: async () => {
      throw new Error("no stored versions in this test");
    },
  });
  await sandbox.start();
});
afterAll(() => sandbox.close());

const compile = (files: ServerSource) => compileServer(files, { describe: (bundle) => sandbox.describe(bundle) });

const recordedFiles = (name: string): ServerSource => {
  const call = recorded(name).content.find((block) => block.type === "tool_use");
  if (call?.type !== "tool_use") throw new Error(`${name} has no tool call`);
  return (call.input as { files: ServerSource }).files;
};

describe("recorded code", () => {
  it("code-weather compiles, declaring the planned tools and hosts", async () => {
    const result = await compile(recordedFiles("code-weather"));
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    expect(result.artifact.manifest.tools.map((t) => t.name)).toEqual(["find_city", "get_forecast"]);
    expect(result.artifact.manifest.egress).toEqual(["geocoding-api.open-meteo.com", "api.open-meteo.com"]);
  });

  it.each([
    ["code-units", ["convert_temperature", "convert_length", "list_units"]],
    ["iterate-units-code", ["convert_temperature", "convert_length", "convert_weight"]],
    [
      "code-open-library",
      [
        "search_books",
        "get_book",
        "get_edition",
        "search_authors",
        "get_author",
        "author_works",
        "book_editions",
        "subject_books",
        "trending_books",
        "cover_url",
      ],
    ],
  ])("%s compiles, declaring its tools", async (name, tools) => {
    const result = await compile(recordedFiles(name));
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    expect(result.artifact.manifest.tools.map((t) => t.name)).toEqual(tools);
  });

  it.each([
    ["code-weather-type-error", "types", /not assignable to parameter of type 'string'/],
    ["code-weather-eval", "code", /eval is not allowed/],
    ["code-weather-injection", "injection", /ignore its instructions/],
  ])("%s fails at the %s step", async (name, step, message) => {
    const result = await compile(recordedFiles(name));
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.errors).toEqual([expect.objectContaining({ step, message: expect.stringMatching(message) })]);
  });
});

describe("the code prompt's example server", () => {
  it("compiles with every check", async () => {
    const example = /<example path="index.ts">\n([\s\S]*?)\n<\/example>/.exec(codeSystem(readGuestApi()))?.[1];
    expect(example).toContain("defineServer");
    const result = await compile({ "index.ts": example ?? "" });
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    expect(result.artifact.manifest.secrets).toEqual(["TODOS_API_KEY"]);
    expect(result.artifact.manifest.tools.find((t) => t.name === "add_todo")?.scopes).toEqual(["todos:write"]);
  });
});
