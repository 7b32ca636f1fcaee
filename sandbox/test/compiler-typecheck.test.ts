import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { CompileDiagnostic } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTscOutput, typecheckServer } from "../src/compiler/typecheck.ts";

const types = (file: string, line: number, column: number, message: string): CompileDiagnostic => ({
  step: "types",
  file,
  line,
  column,
  message,
});

describe("parseTscOutput", () => {
  // [what the case is, tsc's output (--pretty false), the diagnostics]
  const rows: [string, string, CompileDiagnostic[]][] = [
    ["nothing", "", []],
    [
      "one error in a tool file",
      "src/index.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n",
      [types("index.ts", 3, 7, "Type 'string' is not assignable to type 'number'. (TS2322)")],
    ],
    [
      "a file in a folder, and parentheses in the message",
      "src/tools/echo.ts(12,30): error TS2345: Argument of type '(s: string) => void' is not assignable.\n",
      [types("tools/echo.ts", 12, 30, "Argument of type '(s: string) => void' is not assignable. (TS2345)")],
    ],
    [
      "a message over several lines, indented",
      [
        "src/index.ts(5,3): error TS2345: Argument of type '(s: { n: string; }) => void' is not assignable to parameter of type '(s: { n: number; }) => void'.",
        "  Types of parameters 's' and 's' are incompatible.",
        "    Type '{ n: number; }' is not assignable to type '{ n: string; }'.",
        "      Types of property 'n' are incompatible.",
        "src/util.ts(1,1): error TS1128: Declaration or statement expected.",
        "",
      ].join("\n"),
      [
        types(
          "index.ts",
          5,
          3,
          [
            "Argument of type '(s: { n: string; }) => void' is not assignable to parameter of type '(s: { n: number; }) => void'. (TS2345)",
            "Types of parameters 's' and 's' are incompatible.",
            "Type '{ n: number; }' is not assignable to type '{ n: string; }'.",
            "Types of property 'n' are incompatible.",
          ].join("\n"),
        ),
        types("util.ts", 1, 1, "Declaration or statement expected. (TS1128)"),
      ],
    ],
    [
      "an error in a file outside src/, with its continuation",
      [
        "../../work/main/sandbox/guest/globals.d.ts(20,15): error TS2300: Duplicate identifier 'Headers'.",
        "  'Headers' was also declared here.",
      ].join("\n"),
      [
        types(
          "",
          0,
          0,
          "../../work/main/sandbox/guest/globals.d.ts(20,15): error TS2300: Duplicate identifier 'Headers'.\n'Headers' was also declared here.",
        ),
      ],
    ],
    [
      "an error about the setup, with no file",
      "error TS5023: Unknown compiler option 'bogus'.\nerror TS6053: File '/nowhere/x.d.ts' not found.\n  The file is in the program because:\n    Part of 'files' list in tsconfig.json\n",
      [
        types("", 0, 0, "error TS5023: Unknown compiler option 'bogus'."),
        types(
          "",
          0,
          0,
          "error TS6053: File '/nowhere/x.d.ts' not found.\nThe file is in the program because:\nPart of 'files' list in tsconfig.json",
        ),
      ],
    ],
    [
      "a line under src/ in a shape it does not know: kept, not dropped",
      "src/index.ts: something unexpected\n",
      [types("", 0, 0, "src/index.ts: something unexpected")],
    ],
    [
      "Windows line endings",
      "src/index.ts(1,2): error TS1005: ';' expected.\r\n  more detail\r\n",
      [types("index.ts", 1, 2, "';' expected. (TS1005)\nmore detail")],
    ],
  ];
  it.each(rows)("%s", (_name, output, expected) => {
    expect(parseTscOutput(output)).toEqual(expected);
  });
});

describe("what the type check may read", () => {
  const SECRET = "s3cr3t-literal-from-the-build-host";
  let hostDir = "";
  let hostTs = "";
  let hostJson = "";

  beforeAll(async () => {
    hostDir = await mkdtemp(join(tmpdir(), "isola-host-"));
    hostTs = join(hostDir, "config.ts");
    hostJson = join(hostDir, "settings.json");
    await writeFile(hostTs, `export const TOKEN = "${SECRET}";\n`);
    await writeFile(hostJson, JSON.stringify({ [SECRET]: 1 }));
  });
  afterAll(async () => {
    await rm(hostDir, { recursive: true, force: true });
  });

  // Each would print the host file's types (the literal string, the JSON's keys) in a type error.
  const leaks: [string, () => string][] = [
    ["an import by absolute path", () => `import { TOKEN } from "${hostTs}";\nconst n: number = TOKEN;\n`],
    [
      "an import by a relative path out of the sources",
      () => `import { TOKEN } from "${relative(join(tmpdir(), "x", "src"), hostTs)}";\nconst n: number = TOKEN;\n`,
    ],
    ["an import() type", () => `type T = typeof import("${hostTs}");\nconst n: number = {} as T;\n`],
    ["a triple-slash reference", () => `/// <reference path="${hostTs}" />\nconst n: number = TOKEN;\n`],
    ["a JSON import", () => `import data from "${hostJson}";\nconst n: number = data;\n`],
  ];
  it.each(leaks)("refuses %s, without showing what it read", async (_name, source) => {
    const diagnostics = await typecheckServer({ "index.ts": source() });
    expect(diagnostics).toEqual([
      types("", 0, 0, expect.stringMatching(/refers to 1 file\(s\) outside the server's sources/) as unknown as string),
    ]);
    expect(JSON.stringify(diagnostics)).not.toContain(SECRET);
  });

  it("reads the guest API, zod's declarations and TypeScript's libs without complaint", async () => {
    const source = [
      '/// <reference lib="es2024.promise" />',
      'import { defineServer, tool, z } from "isola";',
      "const input = z.object({ n: z.number().int() });",
      "const parsed: { n: number } = input.parse({ n: 1 });",
      "export default defineServer({",
      '  name: "x",',
      '  tools: { t: tool({ description: "d", input, run: ({ n }) => String(n + parsed.n) }) },',
      "});",
    ].join("\n");
    expect(await typecheckServer({ "index.ts": source })).toEqual([]);
  });
});
