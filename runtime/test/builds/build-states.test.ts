// The build's pure parts: what changed between two versions' tools, and a slug from a name.

import { diffTools, slugFromName } from "@isola/control/builds";
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
