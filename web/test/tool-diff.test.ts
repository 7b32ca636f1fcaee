import { describe, expect, it } from "vitest";
import { canonicalJson, diffTools, type ToolShape } from "../app/lib/tool-diff.ts";

const schema = (properties: Record<string, unknown>) => ({ type: "object", properties });
const tool = (name: string, extra: Partial<ToolShape> = {}): ToolShape => ({
  name,
  description: `${name} does things`,
  inputSchema: schema({ q: { type: "string" } }),
  ...extra,
});

/** The diff as names, for tables of cases. */
function summary(before: ToolShape[], after: ToolShape[]) {
  const diff = diffTools(before, after);
  return {
    added: diff.added.map((t) => t.name),
    removed: diff.removed.map((t) => t.name),
    changed: diff.changed.map((t) => `${t.name}: ${t.changes.join(" ")}`),
    unchanged: diff.unchanged,
  };
}

describe("diffTools", () => {
  it.each([
    {
      name: "nothing on either side",
      before: [],
      after: [],
      expected: { added: [], removed: [], changed: [], unchanged: [] },
    },
    {
      name: "the same tools",
      before: [tool("a"), tool("b")],
      after: [tool("b"), tool("a")],
      expected: { added: [], removed: [], changed: [], unchanged: ["a", "b"] },
    },
    {
      name: "added and removed, sorted by name",
      before: [tool("keep"), tool("zeta"), tool("gone")],
      after: [tool("keep"), tool("new"), tool("alpha")],
      expected: { added: ["alpha", "new"], removed: ["gone", "zeta"], changed: [], unchanged: ["keep"] },
    },
    {
      name: "a new description",
      before: [tool("a")],
      after: [tool("a", { description: "better words" })],
      expected: { added: [], removed: [], changed: ["a: description"], unchanged: [] },
    },
    {
      name: "a new input field",
      before: [tool("a")],
      after: [tool("a", { inputSchema: schema({ q: { type: "string" }, n: { type: "number" } }) })],
      expected: { added: [], removed: [], changed: ["a: inputSchema"], unchanged: [] },
    },
    {
      name: "several aspects at once, in a fixed order",
      before: [tool("a", { title: "A" })],
      after: [tool("a", { title: "Ay", description: "x", outputSchema: schema({}), scopes: ["files:write"] })],
      expected: { added: [], removed: [], changed: ["a: title description outputSchema scopes"], unchanged: [] },
    },
    {
      name: "annotations turned on",
      before: [tool("a")],
      after: [tool("a", { annotations: { readOnlyHint: true } })],
      expected: { added: [], removed: [], changed: ["a: annotations"], unchanged: [] },
    },
    {
      name: "key order in a schema is not a change",
      before: [tool("a", { inputSchema: { type: "object", properties: { x: { type: "string", minLength: 1 } } } })],
      after: [tool("a", { inputSchema: { properties: { x: { minLength: 1, type: "string" } }, type: "object" } })],
      expected: { added: [], removed: [], changed: [], unchanged: ["a"] },
    },
    {
      name: "scope order, and no scopes vs an empty list, are not changes",
      before: [tool("a", { scopes: ["b:x", "a:y"] }), tool("b")],
      after: [tool("a", { scopes: ["a:y", "b:x"] }), tool("b", { scopes: [], annotations: {} })],
      expected: { added: [], removed: [], changed: [], unchanged: ["a", "b"] },
    },
    {
      name: "a required array's order is a change (it is data, not a set)",
      before: [tool("a", { inputSchema: { type: "object", required: ["x", "y"] } })],
      after: [tool("a", { inputSchema: { type: "object", required: ["y", "x"] } })],
      expected: { added: [], removed: [], changed: ["a: inputSchema"], unchanged: [] },
    },
  ])("$name", ({ before, after, expected }) => {
    expect(summary(before, after)).toEqual(expected);
  });

  it("keeps both sides of a changed tool, to show them", () => {
    const diff = diffTools([tool("a")], [tool("a", { description: "new" })]);
    expect(diff.changed[0]?.before.description).toBe("a does things");
    expect(diff.changed[0]?.after.description).toBe("new");
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
