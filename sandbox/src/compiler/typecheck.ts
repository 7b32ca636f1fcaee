import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CompileDiagnostic, ServerSource } from "@isola/schema";

const GUEST_DIR = fileURLToPath(new URL("../../guest/", import.meta.url));
const TSC = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");

/** The compiler options tool code is checked with: strict, ECMAScript plus the guest's globals, no Node. */
function tsconfig(files: string[]): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "es2024",
      lib: ["es2024"],
      module: "esnext",
      moduleResolution: "bundler",
      types: [],
      skipLibCheck: true,
      allowImportingTsExtensions: true,
      noFallthroughCasesInSwitch: true,
      paths: { isola: [join(GUEST_DIR, "isola.d.ts")] },
    },
    files: [join(GUEST_DIR, "globals.d.ts"), ...files.map((f) => `src/${f}`)],
  });
}

const LINE = /^src\/(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;

/** tsc's plain output: one diagnostic per line, continuation lines indented. */
export function parseTscOutput(output: string): CompileDiagnostic[] {
  const diagnostics: CompileDiagnostic[] = [];
  for (const line of output.split("\n")) {
    const match = LINE.exec(line);
    if (match) {
      const [, file = "", row = "0", column = "0", code = "", message = ""] = match;
      diagnostics.push({
        step: "types",
        file,
        line: Number(row),
        column: Number(column),
        message: `${message} (${code})`,
      });
    } else if (/^\s+\S/.test(line) && diagnostics.length > 0) {
      const last = diagnostics[diagnostics.length - 1] as CompileDiagnostic;
      last.message = `${last.message}\n${line.trim()}`;
    } else if (line.trim() && !line.startsWith("src/")) {
      // An error outside the tool code (a broken setup): still report it, never drop it.
      diagnostics.push({ step: "types", file: "", line: 0, column: 0, message: line.trim() });
    }
  }
  return diagnostics;
}

/** Type-checks the files against the guest API with TypeScript's native compiler (~0.1-0.5 s). */
export async function typecheckServer(files: ServerSource): Promise<CompileDiagnostic[]> {
  const dir = await mkdtemp(join(tmpdir(), "isola-tsc-"));
  try {
    for (const [name, source] of Object.entries(files)) {
      await mkdir(dirname(join(dir, "src", name)), { recursive: true });
      await writeFile(join(dir, "src", name), source);
    }
    await writeFile(join(dir, "tsconfig.json"), tsconfig(Object.keys(files)));
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [TSC, "-p", "tsconfig.json", "--pretty", "false"],
        { cwd: dir, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          // Exit code 2 means "diagnostics were reported"; anything else without output is a failure.
          if (error && !stdout && (error as { code?: unknown }).code !== 2)
            reject(new Error(`tsc failed: ${stderr || error.message}`));
          else resolve(stdout);
        },
      );
    });
    return parseTscOutput(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
