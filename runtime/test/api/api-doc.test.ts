// docs/API.md cannot drift: its permissions matrix must be the served OpenAPI document's, its
// permission table rbac.ts's, and its problem catalogue problems.ts's. On a mismatch the
// failure prints the table as it should read.
import { readFileSync } from "node:fs";
import { PERMISSIONS, PROBLEMS, type ProblemCode, problemType } from "@isola/control";
import { ORG_ROLES } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { accessLabel, type Operation, roleMay, servedOperations } from "./operations.ts";

const DOC = readFileSync(new URL("../../../docs/API.md", import.meta.url), "utf8");

/** The rows of the table between `<!-- name:start -->` and `<!-- name:end -->`, cells trimmed, backticks dropped. */
function tableRows(name: string): string[][] {
  const start = DOC.indexOf(`<!-- ${name}:start -->`);
  const end = DOC.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || end < start) throw new Error(`docs/API.md has no ${name} table between its markers`);
  return DOC.slice(start, end)
    .split("\n")
    .filter((line) => line.trim().startsWith("|"))
    .slice(2) // the header and the |---| line
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, "")
        .split("|")
        .map((cell) => cell.trim().replaceAll("`", "")),
    );
}

const asMarkdown = (header: string[], rows: string[][]) =>
  [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");

/** The matrix's columns, highest role first. */
const ROLES = ["owner", "admin", "member", "viewer"] as const;

/** What the matrix must say: each operation, who may call it, and which roles have that. */
function matrixRows(operations: Operation[]): string[][] {
  return operations.map((operation) => [
    operation.method,
    operation.path,
    accessLabel(operation.access),
    ...ROLES.map((role) => (roleMay(operation.access, role) ? "yes" : "no")),
  ]);
}

describe("docs/API.md", () => {
  let api: Api;
  let operations: Operation[];
  beforeAll(async () => {
    api = await startApi();
    operations = await servedOperations(api);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("has a column for every role", () => {
    expect([...ROLES].sort()).toEqual([...ORG_ROLES].sort());
  });

  it("has the permissions matrix of every operation the API serves", () => {
    const expected = matrixRows(operations);
    const header = ["Method", "Path (below /api/v1)", "Needs", ...ROLES];
    const sort = (rows: string[][]) => rows.map((row) => row.join(" | ")).sort();
    expect(sort(tableRows("matrix")), `the matrix should read:\n${asMarkdown(header, expected)}\n`).toEqual(
      sort(expected),
    );
  });

  it("names each permission with its least role, as rbac.ts does", () => {
    const expected = Object.entries(PERMISSIONS).map(([permission, role]) => [permission, role]);
    expect(tableRows("permissions"), asMarkdown(["Permission", "Least role"], expected)).toEqual(expected);
  });

  it("lists every problem type with its status and title, as problems.ts does", () => {
    const documented = tableRows("problems");
    const expected = (Object.keys(PROBLEMS) as ProblemCode[]).map((code) => [
      problemType(code),
      String(PROBLEMS[code].status),
      PROBLEMS[code].title,
    ]);
    expect(
      documented.map((row) => row.slice(0, 3)),
      asMarkdown(
        ["Type", "Status", "Title", "When"],
        expected.map((row) => [...row, "..."]),
      ),
    ).toEqual(expected);
    // Each says when it happens, in words.
    expect(documented.filter((row) => !row[3] || row[3].length < 10).map((row) => row[0])).toEqual([]);
  });

  it("names only problem types that an operation declares or the catalogue holds", () => {
    const declared = new Set(operations.flatMap((operation) => operation.problems));
    const catalogue = new Set((Object.keys(PROBLEMS) as ProblemCode[]).map(problemType));
    expect([...declared].filter((type) => !catalogue.has(type))).toEqual([]);
    const mentioned = [...DOC.matchAll(/urn:isola:problem:[a-z-]+/g)].map((match) => match[0]);
    expect(mentioned.filter((type) => !catalogue.has(type))).toEqual([]);
  });
});
