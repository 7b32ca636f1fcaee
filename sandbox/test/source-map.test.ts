import { transform } from "esbuild";
import { describe, expect, it } from "vitest";
import { decodeMappings, originalPosition } from "../src/compiler/source-map.ts";

/** Strips the types the way the code rules do, and returns the output with its decoded map. */
async function stripTypes(source: string) {
  const output = await transform(source, { loader: "ts", format: "esm", target: "es2024", sourcemap: "external" });
  const map = decodeMappings((JSON.parse(output.map) as { mappings: string }).mappings);
  return { code: output.code, map };
}

/** 1-based line and 0-based column of the nth occurrence of needle (the convention of acorn's loc). */
function find(text: string, needle: string, nth = 1): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i < nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`${needle} not found`);
  }
  const before = text.slice(0, index).split("\n");
  return { line: before.length, column: (before.at(-1) ?? "").length };
}

describe("decodeMappings", () => {
  it("decodes base64 VLQ segments with relative columns, lines and source positions", () => {
    // Line 1: col 0 -> 0:0, col 4 -> 0:4. Line 2 (empty). Line 3: col 2 -> 2:0 (two lines down, four back).
    expect(decodeMappings("AAAA,IAAI;;EAEJ")).toEqual([
      [
        [0, 0, 0],
        [4, 0, 4],
      ],
      [],
      [[2, 2, 0]],
    ]);
  });

  it("decodes multi-digit values and negative deltas", () => {
    // "ggCAAggC": column 1024 -> source column 1024. Next line, "w+BAAhgC": column 1000 -> 1024 - 1024 = 0.
    expect(decodeMappings("ggCAAggC;w+BAAhgC")).toEqual([[[1024, 0, 1024]], [[1000, 0, 0]]]);
  });

  it("ignores one-field segments, which map a generated column to no source", () => {
    expect(decodeMappings("AAAA,E,EAAE")).toEqual([
      [
        [0, 0, 0],
        [4, 0, 2],
      ],
    ]);
  });
});

describe("originalPosition on esbuild's output", () => {
  const source = [
    'import { z } from "isola";', // 1
    "interface Forecast {", // 2
    "  city: string;", // 3
    "  days: number;", // 4
    "}", // 5
    "type Maybe<T> = T | undefined;", // 6
    "const limit: Maybe<number> = 3 as number;", // 7
    "export function run(input: Forecast): string {", // 8
    '  return input.city + eval("limit") + z;', // 9
    "}", // 10
  ].join("\n");

  it("maps a position below removed types back to its original line and column", async () => {
    const { code, map } = await stripTypes(source);
    const generated = find(code, "eval");
    // Five lines of types are gone, so the generated line is much higher than the original one.
    expect(generated.line).toBeLessThan(9);
    expect(originalPosition(map, generated.line, generated.column)).toEqual({ line: 9, column: 23 });
  });

  it("maps a name in the middle of an expression to its own column", async () => {
    const { code, map } = await stripTypes(source);
    const generated = find(code, "city");
    expect(originalPosition(map, generated.line, generated.column)).toEqual({ line: 9, column: 16 });
  });

  it("maps a line esbuild split in two back to the one original line", async () => {
    // esbuild prints `() => {}` over two lines; the closing brace is still on line 2 of the source.
    const { code, map } = await stripTypes('const a: number = 1;\n(() => {}).constructor("x");\n');
    const generated = find(code, "constructor");
    expect(generated.line).toBe(3);
    expect(originalPosition(map, generated.line, generated.column)).toEqual({ line: 2, column: 12 });
  });

  it("counts columns in UTF-16 code units, as editors and tsc do", async () => {
    const { code, map } = await stripTypes('const s: string = "é😀"; eval("1");\n');
    const generated = find(code, "eval");
    // `const s: string = "é😀"; ` is 25 UTF-16 units (the emoji is two), 29 UTF-8 bytes.
    expect(originalPosition(map, generated.line, generated.column)).toEqual({ line: 1, column: 26 });
  });

  it("maps columns past 1000 on a long line", async () => {
    const pad = "x".repeat(1200);
    const { code, map } = await stripTypes(`const pad: string = "${pad}"; eval("1");\n`);
    const generated = find(code, "eval");
    // 21 characters, the 1200 of the string, then `"; `.
    expect(originalPosition(map, generated.line, generated.column)).toEqual({ line: 1, column: 1225 });
  });

  it("uses the line's first segment for a column before it, and the position itself where there is no mapping", () => {
    const map = decodeMappings("EAAE;;");
    expect(originalPosition(map, 1, 0)).toEqual({ line: 1, column: 3 });
    expect(originalPosition(map, 2, 5)).toEqual({ line: 2, column: 6 });
    expect(originalPosition(map, 40, 5)).toEqual({ line: 40, column: 6 });
  });
});
