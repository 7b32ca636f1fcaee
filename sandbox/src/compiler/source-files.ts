import type { CompileDiagnostic, ServerSource } from "@isola/schema";
import { COMPILE_LIMITS } from "./limits.ts";

const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9_./-]*\.ts$/;

const problem = (file: string, message: string): CompileDiagnostic => ({
  step: "files",
  file,
  line: 0,
  column: 0,
  message,
});

/** The entry file: index.ts when there is one, else the only file. */
export function entryFile(files: ServerSource): string | undefined {
  const names = Object.keys(files);
  return names.includes("index.ts") ? "index.ts" : names.length === 1 ? names[0] : undefined;
}

/** Checks file names, counts and sizes before anything parses them. */
export function checkSourceFiles(files: ServerSource): CompileDiagnostic[] {
  const names = Object.keys(files);
  const problems: CompileDiagnostic[] = [];
  if (names.length === 0) return [problem("", "no source files were given")];
  if (names.length > COMPILE_LIMITS.maxFiles) {
    problems.push(problem("", `too many files: ${names.length} (at most ${COMPILE_LIMITS.maxFiles})`));
  }
  let total = 0;
  for (const name of names) {
    const size = Buffer.byteLength(files[name] ?? "");
    total += size;
    if (!SAFE_PATH.test(name) || name.split("/").some((part) => part === ".." || part === "." || part === "")) {
      problems.push(problem(name, "file paths must be relative, without . or .. segments, and end in .ts"));
    } else if (name.endsWith(".d.ts")) {
      problems.push(problem(name, "declaration files are not accepted; write the code in .ts files"));
    }
    if (size > COMPILE_LIMITS.maxFileBytes) {
      problems.push(problem(name, `the file is ${size} bytes (at most ${COMPILE_LIMITS.maxFileBytes})`));
    }
  }
  if (total > COMPILE_LIMITS.maxSourceBytes) {
    problems.push(problem("", `the sources are ${total} bytes in all (at most ${COMPILE_LIMITS.maxSourceBytes})`));
  }
  if (!entryFile(files)) problems.push(problem("", "with several files, one must be index.ts (the entry point)"));
  return problems;
}
