// The build's pure parts: what changed between two versions' tools, and a slug from a name.

import { codeResumePoint, diffTools, slugFromName } from "@isola/control/builds";
import { type Manifest, SERVER_SLUG } from "@isola/schema";
import { describe, expect, it } from "vitest";

const tool = (name: string, description = `does ${name}`) => ({
  name,
  description,
  inputSchema: { type: "object", properties: {} },
});
const manifest = (...tools: ReturnType<typeof tool>[]) => ({ tools }) as unknown as Manifest;

describe("the tools a new version adds, changes and removes", () => {
  it.each([
    [
      "a first version adds every tool",
      null,
      manifest(tool("b"), tool("a")),
      { added: ["a", "b"], changed: [], removed: [] },
    ],
    ["nothing changed", manifest(tool("a")), manifest(tool("a")), { added: [], changed: [], removed: [] }],
    [
      "nothing changed but the order of keys (a stored manifest's, as jsonb keeps them)",
      manifest({ inputSchema: { properties: {}, type: "object" }, description: "does a", name: "a" }),
      manifest(tool("a")),
      { added: [], changed: [], removed: [] },
    ],
    [
      "the order of an enum changed",
      manifest({ ...tool("a"), inputSchema: { type: "object", properties: { u: { enum: ["c", "f"] } } } }),
      manifest({ ...tool("a"), inputSchema: { type: "object", properties: { u: { enum: ["f", "c"] } } } }),
      { added: [], changed: ["a"], removed: [] },
    ],
    [
      "a description changed, one tool gone, one new",
      manifest(tool("a"), tool("gone")),
      manifest(tool("a", "better words"), tool("new")),
      { added: ["new"], changed: ["a"], removed: ["gone"] },
    ],
  ])("%s", (_name, before, after, diff) => {
    expect(diffTools(before, after)).toEqual(diff);
  });
});

describe("a slug from a server's name", () => {
  it.each([
    ["Weather Forecast!", "weather-forecast"],
    ["  GitHub   issues  ", "github-issues"],
    ["Café résumé", "cafe-resume"],
    ["42 answers", "answers"],
    ["X", "server-x"],
    ["!!!", "server"],
    ["a".repeat(80), "a".repeat(36)],
  ])("%j -> %j", (name, slug) => {
    expect(slugFromName(name)).toBe(slug);
    expect(slugFromName(name)).toMatch(SERVER_SLUG);
  });
});

describe("where the code step of a claimed build starts", () => {
  const files = { "index.ts": "export default 1;" };
  const errors = [{ step: "types" as const, file: "index.ts", line: 1, column: 1, message: "boom" }];
  it.each([
    ["a new build", { status: "coding", round: 0, files: null }, undefined, { round: 1 }],
    ["coding round 1 again", { status: "coding", round: 1, files: null }, undefined, { round: 1 }],
    [
      "checking: this round's code, checked again",
      { status: "checking", round: 2, files },
      undefined,
      { round: 2, files },
    ],
    [
      "coding round 2: round 1's code and errors",
      { status: "coding", round: 2, files },
      errors,
      { round: 2, repair: { files, errors } },
    ],
    [
      "coding round 2 without round 1's errors: asks afresh",
      { status: "coding", round: 2, files },
      undefined,
      { round: 2 },
    ],
  ] as const)("%s", (_, build, lastCheck, expected) => {
    expect(codeResumePoint(build as Parameters<typeof codeResumePoint>[0], lastCheck && [...lastCheck])).toEqual(
      expected,
    );
  });
});
