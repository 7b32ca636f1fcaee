// The playground's form from a tool's input schema: which field each property becomes, and the
// arguments (or the field errors) a submitted form makes.
import { describe, expect, it } from "vitest";
import { formFields, toolArguments } from "../app/lib/schema-form.ts";

const schema = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, description: "Who to greet" },
    count: { type: "integer", minimum: 1, maximum: 10 },
    ratio: { type: "number" },
    loud: { type: "boolean" },
    unit: { enum: ["c", "f"] },
    level: { enum: [1, 2] },
    tags: { type: "array", items: { type: "string" } },
    ids: { type: "array", items: { type: "integer" } },
    filter: { type: "object", properties: { q: { type: "string" } } },
    note: { type: ["string", "null"] },
  },
  required: ["name", "count"],
};

describe("formFields", () => {
  it("gives each property the field its type needs, required marked", () => {
    expect(formFields(schema).map((f) => [f.property, f.kind, f.required, f.itemKind ?? null])).toEqual([
      ["name", "string", true, null],
      ["count", "integer", true, null],
      ["ratio", "number", false, null],
      ["loud", "boolean", false, null],
      ["unit", "enum", false, null],
      ["level", "enum", false, null],
      ["tags", "list", false, "string"],
      ["ids", "list", false, "integer"],
      ["filter", "json", false, null],
      ["note", "string", false, null],
    ]);
    expect(formFields(schema)[0]).toMatchObject({ name: "arg.name", description: "Who to greet" });
    expect(formFields(schema)[5]?.options).toEqual(["1", "2"]);
  });

  it("has no fields for a tool without input", () => {
    expect(formFields({ type: "object" })).toEqual([]);
  });
});

const cases: [string, Record<string, string>, Record<string, unknown> | { errors: Record<string, string> }][] = [
  ["only the required", { "arg.name": "Ada", "arg.count": "3" }, { name: "Ada", count: 3 }],
  [
    "every kind",
    {
      "arg.name": "Ada",
      "arg.count": "10",
      "arg.ratio": "0.5",
      "arg.loud": "false",
      "arg.unit": "f",
      "arg.level": "2",
      "arg.tags": "a, b\nc",
      "arg.ids": "1,2",
      "arg.filter": '{"q":"x"}',
      "arg.note": "hi",
    },
    {
      name: "Ada",
      count: 10,
      ratio: 0.5,
      loud: false,
      unit: "f",
      level: 2,
      tags: ["a", "b", "c"],
      ids: [1, 2],
      filter: { q: "x" },
      note: "hi",
    },
  ],
  [
    "empty optionals left out",
    { "arg.name": "Ada", "arg.count": "1", "arg.ratio": "", "arg.loud": "" },
    { name: "Ada", count: 1 },
  ],
  ["missing required", {}, { errors: { "arg.name": "required", "arg.count": "required" } }],
  ["string too short", { "arg.name": "", "arg.count": "1" }, { errors: { "arg.name": "required" } }],
  ["not a number", { "arg.name": "A", "arg.count": "three" }, { errors: { "arg.count": "enter a number" } }],
  ["not whole", { "arg.name": "A", "arg.count": "1.5" }, { errors: { "arg.count": "enter a whole number" } }],
  ["above maximum", { "arg.name": "A", "arg.count": "11" }, { errors: { "arg.count": "at most 10" } }],
  ["below minimum", { "arg.name": "A", "arg.count": "0" }, { errors: { "arg.count": "at least 1" } }],
  [
    "bad boolean",
    { "arg.name": "A", "arg.count": "1", "arg.loud": "yes" },
    { errors: { "arg.loud": "choose true or false" } },
  ],
  [
    "bad enum",
    { "arg.name": "A", "arg.count": "1", "arg.unit": "k" },
    { errors: { "arg.unit": "choose one of c, f" } },
  ],
  [
    "bad list item",
    { "arg.name": "A", "arg.count": "1", "arg.ids": "1, x" },
    { errors: { "arg.ids": "x: enter a number" } },
  ],
  [
    "bad JSON",
    { "arg.name": "A", "arg.count": "1", "arg.filter": "{q:" },
    { errors: { "arg.filter": "enter valid JSON" } },
  ],
];

describe("toolArguments", () => {
  it.each(cases)("%s", (_name, form, expected) => {
    const result = toolArguments(schema, form);
    if ("errors" in expected) expect(result).toEqual({ ok: false, fieldErrors: expected.errors });
    else expect(result).toEqual({ ok: true, arguments: expected });
  });
});
