import { type DeclarativeParam, type DeclarativeServerInput, declarativeServer } from "@isola/schema";
import { type Node, parse } from "acorn";
import { simple } from "acorn-walk";
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import {
  declarativeEntry,
  declarativeNeeds,
  generateDeclarativeModule,
  paramSchemaCode,
} from "../src/declarative/generate.ts";
import { HELPERS_SOURCE } from "../src/declarative/guest-helpers.ts";

// Declarative tools -> guest-API code, as text: the zod code for each parameter type, what
// the data of each kind looks like, and that values from the spec only ever become literals.

const parsed = (input: DeclarativeServerInput) => declarativeServer.parse(input);
/** A template literal's placeholder, as text. */
const PLACEHOLDER = "$" + "{x}";

describe("paramSchemaCode", () => {
  const rows: [DeclarativeParam, string][] = [
    [{ type: "string" }, "z.string()"],
    [{ type: "number" }, "z.number()"],
    [{ type: "integer" }, "z.int()"],
    [{ type: "boolean" }, "z.boolean()"],
    [{ type: "string", required: false }, "z.string().optional()"],
    [{ type: "string", required: true }, "z.string()"],
    [{ type: "integer", description: "how many" }, 'z.int().describe("how many")'],
    [{ type: "string", enum: ["a", 'b"c'] }, 'z.enum(["a","b\\"c"])'],
    [{ type: "number", enum: [1.5, 2], required: false }, "z.literal([1.5,2]).optional()"],
    [{ type: "integer", enum: [1, 2] }, "z.literal([1,2])"],
    [
      { type: "boolean", description: `say "yes"\n\`${PLACEHOLDER}\` */`, required: false },
      `z.boolean().describe("say \\"yes\\"\\n\`${PLACEHOLDER}\` */").optional()`,
    ],
  ];
  it.each(rows)("%j -> %s", (param, code) => {
    expect(paramSchemaCode(param)).toBe(code);
  });
});

/** The JSON literal a tool's data statement holds (`const specN: T = <json>;`). */
function specOf(module: string, n: number): unknown {
  const line = module.split("\n").find((l) => l.startsWith(`const spec${n}: `));
  const literal = line?.replace(/^const spec\d+: \w+ = /, "").replace(/;$/, "");
  return literal === undefined ? undefined : JSON.parse(literal);
}

describe("the data of each kind", () => {
  const rows: [string, DeclarativeServerInput["tools"][number], unknown][] = [
    [
      "http: URL parts with path parameters marked, query after ?, headers, pointer",
      {
        kind: "http",
        name: "t",
        description: "d",
        params: { id: { type: "string" }, q: { type: "string" }, page: { type: "integer", required: false } },
        request: {
          url: "https://api.example.com/users/{id}/items?q={q}",
          headers: { Authorization: "Bearer {secret.API_KEY}" },
          query: { page: "{page}" },
        },
        response: { pointer: "/data" },
      },
      {
        method: "GET",
        url: [
          { text: "https://api.example.com/users/" },
          { param: "id", path: true },
          { text: "/items?q=" },
          { param: "q" },
        ],
        headers: [["Authorization", [{ text: "Bearer " }, { secret: "API_KEY" }]]],
        query: [["page", [{ param: "page" }]]],
        pointer: "/data",
      },
    ],
    [
      "http: a JSON body as a tree, keys as data",
      {
        kind: "http",
        name: "t",
        description: "d",
        params: { n: { type: "integer" } },
        request: {
          method: "POST",
          url: "https://a.example.com/",
          body: { __proto__x: ["{n}", 2, null, true], s: "n={n}" },
        },
      },
      {
        method: "POST",
        url: [{ text: "https://a.example.com/" }],
        headers: [],
        query: [],
        body: {
          o: [
            ["__proto__x", { a: [{ s: [{ param: "n" }] }, { v: 2 }, { v: null }, { v: true }] }],
            ["s", { s: [{ text: "n=" }, { param: "n" }] }],
          ],
        },
      },
    ],
    [
      "prompt: template and system as parts, the token budget",
      {
        kind: "prompt",
        name: "t",
        description: "d",
        params: { text: { type: "string" } },
        template: "Sum up {{ {text} }}",
        system: "Be brief",
        maxTokens: 50,
      },
      {
        template: [{ text: "Sum up { " }, { param: "text" }, { text: " }" }],
        system: [{ text: "Be brief" }],
        maxTokens: 50,
      },
    ],
  ];
  it.each(rows)("%s", (_, tool, spec) => {
    expect(specOf(generateDeclarativeModule(parsed({ name: "s", tools: [tool] })), 0)).toEqual(spec);
  });

  it("static: the value through JSON.parse, so a __proto__ key stays data", () => {
    const module = generateDeclarativeModule(
      parsed({
        name: "s",
        tools: [{ kind: "static", name: "t", description: "d", result: JSON.parse('{"__proto__":1}') }],
      }),
    );
    expect(module).toContain('const spec0: unknown = JSON.parse("{\\"__proto__\\":1}");');
  });
});

describe("declarativeNeeds", () => {
  const http = (url: string, headers: Record<string, string> = {}, query: Record<string, string> = {}) => ({
    kind: "http" as const,
    name: `t${Math.random().toString(36).slice(2, 8)}`,
    description: "d",
    request: { url, headers, query },
  });
  const rows: [string, DeclarativeServerInput["tools"], { secrets: string[]; egress: string[] }][] = [
    ["no http tools", [{ kind: "static", name: "s", description: "d", result: 1 }], { secrets: [], egress: [] }],
    [
      "hosts lower-cased, without ports, once each, sorted",
      [http("https://B.example.com:8443/x"), http("https://a.example.com/"), http("https://b.example.com/y")],
      { secrets: [], egress: ["a.example.com", "b.example.com"] },
    ],
    [
      "secrets from headers and query, once each, sorted",
      [http("https://a.example.com/", { A: "{secret.ZED}", B: "{secret.ALPHA} {secret.ZED}" }, { k: "{secret.KEY}" })],
      { secrets: ["ALPHA", "KEY", "ZED"], egress: ["a.example.com"] },
    ],
  ];
  it.each(rows)("%s", (_, tools, needs) => {
    expect(declarativeNeeds(parsed({ name: "s", tools }))).toEqual(needs);
  });
});

describe("values from the spec become literals, never code", () => {
  // Strings that would break out of a string, a template literal or a comment if spliced.
  const hostile = ['"); globalThis.x = 1; ("', `\`${PLACEHOLDER}\``, "*/ x = 1 /*", "\\", "\n}", "\u2028", "</script>"];
  const text = hostile.join(" | ");
  const server = parsed({
    name: text,
    description: text,
    tools: [
      { kind: "static", name: "a.b-c_1", title: text, description: text, result: { [text]: text } },
      {
        kind: "http",
        name: "h",
        description: text,
        params: { p: { type: "string", description: text, enum: [text, "x"] } },
        request: {
          method: "POST",
          url: "https://api.example.com/{p}",
          headers: { "X-A": `${text.replaceAll("{", "{{").replaceAll("}", "}}")} {p}` },
          body: { [text]: "{p}" },
        },
      },
      { kind: "prompt", name: "p", description: text, template: text.replaceAll("{", "{{").replaceAll("}", "}}") },
    ],
  });

  /** Identifiers and string literals of generated code, the fixed helpers left out. */
  function program(source: string): { identifiers: Set<string>; strings: string[] } {
    const generated = source.replace(HELPERS_SOURCE, "");
    const js = transformSync(generated, { loader: "ts", format: "esm" }).code;
    const ast = parse(js, { ecmaVersion: "latest", sourceType: "module" });
    const identifiers = new Set<string>();
    const strings: string[] = [];
    simple(ast as Node, {
      Identifier: (node) => void identifiers.add((node as unknown as { name: string }).name),
      Literal: (node) => {
        const value = (node as unknown as { value: unknown }).value;
        if (typeof value === "string") strings.push(value);
      },
      TemplateLiteral: () => void identifiers.add("<template literal>"),
    });
    return { identifiers, strings };
  }

  it("the module names only its own vocabulary, and holds each value as a string literal", () => {
    const { identifiers, strings } = program(generateDeclarativeModule(server));
    const vocabulary = [
      ...["spec0", "spec1", "spec2", "JSON", "parse", "secrets", "egress", "tools", "tool", "z", "object"],
      ...["title", "description", "input", "run", "ctx", "asResult", "runHttp", "runPrompt"],
      ...["enum", "string", "describe", "tool"],
    ];
    expect([...identifiers].filter((name) => !vocabulary.includes(name))).toEqual([]);
    expect(strings).toContain(text);
    expect(strings).toContain(JSON.stringify({ [text]: text }));
  });

  it("the entry of a declarative-only server too", () => {
    const { identifiers, strings } = program(declarativeEntry(server));
    expect([...identifiers]).toEqual(["defineServer"]);
    expect(strings.filter((s) => s === text)).toHaveLength(2);
  });
});
