import { describe, expect, it } from "vitest";
import { type DiffLine, diffFiles, diffLines, hunks, splitLines } from "../app/lib/line-diff.ts";

/** A diff as `diff -u` writes its lines: " same", "-removed", "+added". */
const unified = (lines: DiffLine[]) =>
  lines.map((line) => `${line.kind === "same" ? " " : line.kind === "added" ? "+" : "-"}${line.text}`);

describe("splitLines", () => {
  it.each([
    ["", []],
    ["a", ["a"]],
    ["a\n", ["a"]],
    ["a\nb", ["a", "b"]],
    ["a\r\nb\r\n", ["a", "b"]],
    ["a\n\nb", ["a", "", "b"]],
    ["\n", [""]],
  ])("%j -> %j", (text, lines) => {
    expect(splitLines(text)).toEqual(lines);
  });
});

describe("diffLines", () => {
  it.each([
    { name: "identical", before: "a\nb\n", after: "a\nb\n", expected: [" a", " b"] },
    { name: "both empty", before: "", after: "", expected: [] },
    { name: "all added", before: "", after: "a\nb", expected: ["+a", "+b"] },
    { name: "all removed", before: "a\nb", after: "", expected: ["-a", "-b"] },
    { name: "one line changed", before: "a\nb\nc", after: "a\nB\nc", expected: [" a", "-b", "+B", " c"] },
    { name: "insert in the middle", before: "a\nc", after: "a\nb\nc", expected: [" a", "+b", " c"] },
    { name: "delete at the start", before: "x\na\nb", after: "a\nb", expected: ["-x", " a", " b"] },
    { name: "append at the end", before: "a", after: "a\nb", expected: [" a", "+b"] },
    {
      name: "a moved line keeps the longest common part",
      before: "a\nb\nc\nd",
      after: "b\nc\nd\na",
      expected: ["-a", " b", " c", " d", "+a"],
    },
    {
      name: "interleaved edits",
      before: "1\n2\n3\n4\n5",
      after: "1\ntwo\n3\nfour\n5\n6",
      expected: [" 1", "-2", "+two", " 3", "-4", "+four", " 5", "+6"],
    },
    { name: "whitespace is a change", before: "a \nb", after: "a\nb", expected: ["-a ", "+a", " b"] },
  ])("$name", ({ before, after, expected }) => {
    expect(unified(diffLines(before, after))).toEqual(expected);
  });

  it("numbers lines on each side", () => {
    expect(diffLines("a\nb\nc", "a\nx\nc")).toEqual([
      { kind: "same", text: "a", oldNumber: 1, newNumber: 1 },
      { kind: "removed", text: "b", oldNumber: 2 },
      { kind: "added", text: "x", newNumber: 2 },
      { kind: "same", text: "c", oldNumber: 3, newNumber: 3 },
    ]);
  });

  it("keeps exactly the lines of each side (a longer random case)", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed;
    };
    const before = Array.from({ length: 300 }, () => `line ${random() % 20}`).join("\n");
    const after = Array.from({ length: 280 }, () => `line ${random() % 20}`).join("\n");
    const lines = diffLines(before, after);
    expect(lines.filter((line) => line.kind !== "added").map((line) => line.text)).toEqual(splitLines(before));
    expect(lines.filter((line) => line.kind !== "removed").map((line) => line.text)).toEqual(splitLines(after));
  });
});

describe("hunks", () => {
  const file = (count: number) => Array.from({ length: count }, (_, i) => `l${i + 1}`).join("\n");

  it("keeps context around a change and skips the rest", () => {
    const after = file(20).replace("l10", "changed");
    const shape = hunks(diffLines(file(20), after), 2).map((hunk) =>
      hunk.kind === "skipped" ? `skip ${hunk.count}` : unified(hunk.lines).join(","),
    );
    expect(shape).toEqual(["skip 7", " l8, l9,-l10,+changed, l11, l12", "skip 8"]);
  });

  it("merges changes whose contexts touch", () => {
    const after = file(10).replace("l3", "x").replace("l6", "y");
    const result = hunks(diffLines(file(10), after), 1);
    expect(result.map((hunk) => hunk.kind)).toEqual(["skipped", "lines", "skipped"]);
  });

  it("is a single skip when nothing changed, and nothing for empty files", () => {
    expect(hunks(diffLines(file(5), file(5)))).toEqual([{ kind: "skipped", count: 5 }]);
    expect(hunks([])).toEqual([]);
  });
});

describe("diffFiles", () => {
  it("says which files were added, removed, changed or kept, sorted by path", () => {
    const files = diffFiles(
      { "index.ts": "a\nb", "old.ts": "x", "same.ts": "s" },
      { "index.ts": "a\nc", "new.ts": "y\nz", "same.ts": "s" },
    );
    expect(files.map(({ path, status, added, removed }) => ({ path, status, added, removed }))).toEqual([
      { path: "index.ts", status: "changed", added: 1, removed: 1 },
      { path: "new.ts", status: "added", added: 2, removed: 0 },
      { path: "old.ts", status: "removed", added: 0, removed: 1 },
      { path: "same.ts", status: "same", added: 0, removed: 0 },
    ]);
  });
});
