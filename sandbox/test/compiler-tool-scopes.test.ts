import type { CompileDiagnostic, ServerSource } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { checkManifest } from "../src/compiler/checks/manifest-checks.ts";
import { checkToolScopes, locateLiteral, scopeRefusal } from "../src/compiler/checks/scope-checks.ts";
import { compileServer } from "../src/compiler/compile.ts";
import { describeInIsolate } from "./support/describe-in-isolate.ts";

// The step-up scopes a tool declares, `tool({ scopes: [...] })`: which scopes a tool may
// require, how many, and where a bad one is reported.

const SYNTAX_TEXT = 'scopes are 1-64 characters of a-z 0-9 _ . : -, starting with a letter (e.g. "notes:write")';
const SYNTAX = /^scopes are 1-64 characters of a-z 0-9 _ \. : -, starting with a letter/;
const OIDC = /is an OpenID Connect scope, which the authorization server grants for itself/;

describe("a scope a tool may require", () => {
  const good = ["notes:write", "notes", "a", "files.read", "calendar:events-write", "x_1:y.z-2", `a${"b".repeat(63)}`];
  it.each(good)("%s is accepted", (scope) => {
    expect(scopeRefusal(scope)).toBeUndefined();
  });

  const bad: [string, RegExp][] = [
    ["mcp:tools", /^every token carries mcp:tools already/],
    ["mcp:admin", /^scopes starting with "mcp:" are reserved for Isola$/],
    ["openid", OIDC],
    ["offline_access", OIDC],
    ["profile", OIDC],
    ["email", OIDC],
    ["", SYNTAX],
    ["Notes:Write", SYNTAX],
    ["notes write", SYNTAX],
    ["1notes", SYNTAX],
    [":notes", SYNTAX],
    ['notes"', SYNTAX],
    ["notes\\write", SYNTAX],
    ["notés", SYNTAX],
    ["notes,write", SYNTAX],
    [`a${"b".repeat(64)}`, SYNTAX],
  ];
  it.each(bad)("%j is refused", (scope, message) => {
    expect(scopeRefusal(scope)).toMatch(message);
  });
});

/** A raw manifest (as describe() returns it) whose one tool declares `scopes`. */
const withScopes = (scopes: unknown, name = "notes.write") => ({
  name: "s",
  tools: [{ name, description: "d", inputSchema: { type: "object" }, ...(scopes === undefined ? {} : { scopes }) }],
  resources: [],
  prompts: [],
  secrets: [],
  egress: [],
});
const messages = (raw: unknown) => checkManifest(raw).problems.map((p) => `${p.step}: ${p.message}`);

describe("the scopes of a manifest's tools", () => {
  it("come back parsed, in the order declared", () => {
    const result = checkManifest(withScopes(["notes:write", "notes:read"]));
    expect(result.problems).toEqual([]);
    expect(result.manifest?.tools[0]?.scopes).toEqual(["notes:write", "notes:read"]);
  });

  it("may be left out", () => {
    const result = checkManifest(withScopes(undefined));
    expect(result.problems).toEqual([]);
    expect(result.manifest?.tools[0]).not.toHaveProperty("scopes");
  });

  const rows: [string, unknown, string[]][] = [
    [
      "a scope in capitals, quoted",
      ["notes:write", "Notes:Read"],
      [`manifest: tool notes.write scopes.1 "Notes:Read": ${SYNTAX_TEXT}`],
    ],
    [
      "the base scope",
      ["mcp:tools"],
      [
        'manifest: tool notes.write scopes.0 "mcp:tools": every token carries mcp:tools already: list only the scopes the tool needs besides it',
      ],
    ],
    [
      "an OpenID scope",
      ["offline_access"],
      [
        'manifest: tool notes.write scopes.0 "offline_access": offline_access is an OpenID Connect scope, which the authorization server grants for itself: a tool cannot require it',
      ],
    ],
    ["a scope listed twice", ["a", "b", "a"], ['manifest: tool notes.write scopes.2 "a": the scope is listed twice']],
    [
      "more than five",
      ["a", "b", "c", "d", "e", "f"],
      ["manifest: tool notes.write scopes: a tool requires at most 5 scopes (this one lists 6)"],
    ],
    [
      "a string instead of a list",
      "notes:write",
      ['manifest: tool notes.write scopes: must be an array of strings, e.g. ["notes:write"]'],
    ],
    [
      "a list with a number",
      ["a", 7],
      ['manifest: tool notes.write scopes: must be an array of strings, e.g. ["notes:write"]'],
    ],
    [
      "a scope with an invisible character, shown escaped",
      ["notes\u200B:write"],
      [`manifest: tool notes.write scopes.0 "notes\\u{200b}:write": ${SYNTAX_TEXT}`],
    ],
  ];
  it.each(rows)("refuses %s, once and in words", (_name, scopes, expected) => {
    expect(messages(withScopes(scopes))).toEqual(expected);
    expect(checkManifest(withScopes(scopes)).manifest).toBeUndefined();
  });

  it("refuses more than 32 different scopes across a server's tools", () => {
    const raw = withScopes(undefined);
    raw.tools = Array.from({ length: 7 }, (_, t) => ({
      name: `t${t}`,
      description: "d",
      inputSchema: { type: "object" },
      scopes: Array.from({ length: 5 }, (_, s) => `s${t}_${s}`),
    }));
    expect(messages(raw)).toEqual([
      "manifest: the server: the tools require 35 different scopes (at most 32 per server)",
    ]);
    // The same scopes shared by the tools count once.
    for (const tool of raw.tools) tool.scopes = ["notes:read", "notes:write"];
    expect(messages(raw)).toEqual([]);
  });

  it("is not fooled by a manifest that is not an object", () => {
    expect(checkToolScopes(null)).toEqual([]);
    expect(checkToolScopes({ tools: [null, 3, { name: "t" }] })).toEqual([]);
  });
});

describe("where a scope is written", () => {
  it("is the first string literal of exactly that text, in any quotes", () => {
    const files = { "index.ts": 'const a = "notes";\nconst b = `x`;\n  scopes: ["notes:write"]\n', "b.ts": "'other'" };
    expect(locateLiteral(files, "notes:write")).toEqual({ file: "index.ts", line: 3, column: 12 });
    expect(locateLiteral(files, "x")).toEqual({ file: "index.ts", line: 2, column: 11 });
    expect(locateLiteral(files, "other")).toEqual({ file: "b.ts", line: 1, column: 1 });
  });

  it("is nowhere for a scope built at run time (and for a prefix of a literal)", () => {
    const files = { "index.ts": 'const scope = ["notes", "write"].join(":");\n' };
    expect(locateLiteral(files, "notes:write")).toEqual({ file: "", line: 0, column: 0 });
    expect(locateLiteral({ "index.ts": '"notes:writer"' }, "notes:write")).toEqual({ file: "", line: 0, column: 0 });
  });
});

describe("compiling tool code that declares scopes (a real isolate)", () => {
  const source = (scopes: string) => `import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "notes",
  tools: {
    read_note: tool({ description: "Reads a note", input: z.object({}), run: () => "a note" }),
    write_note: tool({
      description: "Writes a note",
      input: z.object({ text: z.string() }),
      scopes: ${scopes},
      run: ({ text }) => "saved " + text,
    }),
  },
});
`;

  async function compile(files: ServerSource) {
    return compileServer(files, { describe: describeInIsolate });
  }

  it("puts the scopes in the manifest of the tool that declared them, and only there", async () => {
    const result = await compile({ "index.ts": source('["notes:write", "notes:read"]') });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const [read, write] = result.artifact.manifest.tools;
    expect(read).not.toHaveProperty("scopes");
    expect(write?.scopes).toEqual(["notes:write", "notes:read"]);
  });

  it("takes a readonly list (as const)", async () => {
    const result = await compile({ "index.ts": source('["notes:write"] as const') });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.artifact.manifest.tools[1]?.scopes).toEqual(["notes:write"]);
  });

  it("leaves an empty list out of the manifest", async () => {
    const result = await compile({ "index.ts": source("[]") });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.artifact.manifest.tools[1]).not.toHaveProperty("scopes");
  });

  it("points each bad scope at the file, line and column where it is written", async () => {
    const files = { "index.ts": source('["notes:write", "Notes:Admin", "openid"]') };
    const result = await compile(files);
    expect(result.ok).toBe(false);
    const line = files["index.ts"].split("\n")[9] ?? "";
    expect(result.ok ? [] : result.errors).toEqual<CompileDiagnostic[]>([
      {
        step: "manifest",
        file: "index.ts",
        line: 10,
        column: line.indexOf('"Notes:Admin"') + 1,
        message: expect.stringMatching(/^tool write_note scopes\.1 "Notes:Admin": scopes are 1-64 characters/),
      },
      {
        step: "manifest",
        file: "index.ts",
        line: 10,
        column: line.indexOf('"openid"') + 1,
        message: expect.stringMatching(/^tool write_note scopes\.2 "openid": openid is an OpenID Connect scope/),
      },
    ]);
    expect(line.indexOf('"openid"')).toBeGreaterThan(0);
  });

  it("refuses scopes that are not a list of strings when the code loads", async () => {
    // The type-check refuses it first; a cast gets past the types, not past the runtime.
    const result = await compile({ "index.ts": source('"notes:write" as unknown as string[]') });
    expect(result.ok ? [] : result.errors).toEqual([
      {
        step: "load",
        file: "",
        line: 0,
        column: 0,
        message: 'the server\'s code failed to load: tool(): scopes must be an array of strings, e.g. ["notes:write"]',
      },
    ]);
  });

  it("is refused by the type-check when scopes are not strings", async () => {
    const result = await compile({ "index.ts": source("[42]") });
    expect(result.ok ? [] : result.errors.map((e) => [e.step, e.line])).toEqual([["types", 10]]);
  });
});
