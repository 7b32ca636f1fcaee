import type { Artifact } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxError } from "../src/errors.ts";
import type { TenantIsolate } from "../src/host/tenant-isolate.ts";
import { callOptions, fixture, loadArtifact, loadServer } from "./support/load-server.ts";

// What run() returns or throws, and what the client then receives as the MCP tool result.

let artifact: Artifact;
let isolate: TenantIsolate;
beforeAll(async () => {
  ({ artifact, isolate } = await loadServer(await fixture("guest-results.ts")));
});
afterAll(() => isolate?.dispose());

const call = (name: string, args: Record<string, unknown> = {}) => isolate.callTool(name, args, callOptions());
const text = (value: string) => ({ type: "text", text: value });
const error = (message: string) => ({ content: [text(message)], isError: true });

describe("a returned value becomes the tool result", () => {
  const rows: [string, string, unknown][] = [
    ["a string is one text block", "text", { content: [text("hello")] }],
    [
      "an object with an output schema is parsed by it (defaults applied, unknown keys dropped)",
      "structured",
      { structuredContent: { name: "a", count: 1 }, content: [text('{"name":"a","count":1}')] },
    ],
    [
      "an object without an output schema is kept as it is",
      "plainObject",
      {
        structuredContent: { a: 1, nested: { b: [true, null] }, unknownKey: "kept" },
        content: [text('{"a":1,"nested":{"b":[true,null]},"unknownKey":"kept"}')],
      },
    ],
    [
      "a full CallToolResult passes through",
      "fullResult",
      { content: [text("one"), { type: "image", data: "AAAA", mimeType: "image/png" }] },
    ],
    ["a full CallToolResult that is an error passes through", "fullError", error("quota exceeded")],
    [
      "a full CallToolResult with an output schema has its structured content parsed",
      "fullResultWithStructure",
      { content: [text("a")], structuredContent: { name: "a", count: 1 } },
    ],
    ["a number is text", "number", { content: [text("42.5")] }],
    ["a boolean is text", "boolean", { content: [text("false")] }],
    ["nothing is no content", "nothing", { content: [] }],
    ["nothing, from an async run, is no content", "nothingAsync", { content: [] }],
    ["null is no content", "nullValue", { content: [] }],
    ["an array is its JSON as text, without structured content", "array", { content: [text('[1,"two",{"three":3}]')] }],
  ];
  it.each(rows)("%s", async (_behaviour, tool, expected) => {
    expect(await call(tool)).toEqual(expected);
  });
});

describe("a result the output schema refuses is an error that names the problem", () => {
  const rows: [string, string, RegExp][] = [
    ["a field of the wrong type", "wrongShape", /output schema[\s\S]*expected string, received number[\s\S]*name/],
    ["a string instead of an object", "stringInsteadOfObject", /output schema[\s\S]*expected object, received string/],
    [
      "a full CallToolResult without structured content",
      "fullResultWithoutStructure",
      /output schema: the result has no structuredContent/,
    ],
  ];
  it.each(rows)("%s", async (_behaviour, tool, message) => {
    const result = (await call(tool)) as { isError: boolean; content: { text: string }[]; structuredContent?: unknown };
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(result.content[0]?.text).toMatch(message);
  });
});

describe("a thrown value becomes an error result with only its message", () => {
  const rows: [string, string, string][] = [
    ["an Error", "throwsError", "the upstream API is down"],
    ["an Error without a message (its name instead)", "throwsEmptyError", "RangeError"],
    ["a string", "throwsString", "a plain string"],
    ["a number", "throwsNumber", "404"],
    ["an object with a message", "throwsObjectWithMessage", "an object's message"],
    ["an object whose toString throws", "throwsUndescribable", "the code threw a value that cannot be described"],
    ["a rejection after an await", "rejects", "failed after an await"],
    [
      "a result JSON cannot carry (a cycle)",
      "unserializable",
      "The result cannot be written as JSON: Converting circular structure to JSON",
    ],
    ["a result JSON cannot carry (a BigInt)", "bigint", "Do not know how to serialize a BigInt"],
  ];
  it.each(rows)("%s", async (_behaviour, tool, message) => {
    const result = (await call(tool)) as { content: { text: string }[] };
    const first = result.content[0]?.text ?? "";
    expect(result).toEqual(error(first));
    expect(first.startsWith(message)).toBe(true);
  });

  it("never carries a stack or a file name", async () => {
    for (const tool of ["throwsError", "rejects", "unserializable"]) {
      const { content } = (await call(tool)) as { content: { text: string }[] };
      expect(content[0]?.text).not.toMatch(/\n\s*at |server\.js|isola-runtime|\.ts:\d/);
    }
  });
});

describe("invalid arguments are an error result naming the field", () => {
  const rows: [string, Record<string, unknown>, RegExp][] = [
    [
      "a field of the wrong type",
      { city: 5, code: "OSL" },
      /^Invalid arguments: [\s\S]*expected string, received number[\s\S]*city/,
    ],
    ["a missing field", { code: "OSL" }, /^Invalid arguments: [\s\S]*expected string, received undefined[\s\S]*city/],
    ["a number out of bounds", { city: "Oslo", code: "OSL", days: 9 }, /^Invalid arguments: [\s\S]*<=7[\s\S]*days/],
    [
      "a refinement that fails",
      { city: "Oslo", code: "osl" },
      /^Invalid arguments: [\s\S]*must be three capital letters[\s\S]*code/,
    ],
  ];
  it.each(rows)("%s", async (_behaviour, args, message) => {
    const result = (await call("validated", args)) as { isError: boolean; content: { text: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(message);
  });

  it("valid arguments arrive parsed, defaults applied and unknown keys dropped", async () => {
    expect(await call("validated", { city: "Oslo", code: "OSL", extra: true })).toMatchObject({
      structuredContent: { city: "Oslo", code: "OSL", days: 3 },
    });
  });
});

describe("what the host refuses", () => {
  it("an unknown tool is SANDBOX_UNKNOWN_TOOL", async () => {
    const refused = call("no_such_tool").catch((e: unknown) => e);
    expect(await refused).toBeInstanceOf(SandboxError);
    expect(await refused).toMatchObject({ code: "SANDBOX_UNKNOWN_TOOL", message: "no tool named no_such_tool" });
  });

  describe("with a result limit of 1000 bytes", () => {
    let small: TenantIsolate;
    beforeAll(async () => {
      small = await loadArtifact(artifact, { maxResultBytes: 1000 });
    });
    afterAll(() => small?.dispose());

    // [what, text, n, fits]: the limit counts bytes of UTF-8 JSON ("€" is 3 bytes).
    const rows: [string, string, number, boolean][] = [
      ["900 ASCII characters fit", "x", 900, true],
      ["1000 ASCII characters do not", "x", 1000, false],
      ["300 euro signs (900 bytes) fit", "€", 300, true],
      ["400 euro signs (1200 bytes, 400 characters) do not", "€", 400, false],
    ];
    it.each(rows)("%s", async (_what, repeated, n, fits) => {
      const outcome = small.callTool("repeat", { text: repeated, n }, callOptions());
      if (fits) await expect(outcome).resolves.toEqual({ content: [text(repeated.repeat(n))] });
      else await expect(outcome).rejects.toMatchObject({ code: "SANDBOX_RESULT_TOO_LARGE" });
    });
  });
});
