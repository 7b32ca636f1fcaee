import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CompileDiagnostic, ServerSource } from "@isola/schema";

const GUEST_DIR = fileURLToPath(new URL("../../guest/", import.meta.url));
const TYPESCRIPT_DIR = dirname(createRequire(import.meta.url).resolve("typescript/package.json"));
const TSC = join(TYPESCRIPT_DIR, "bin", "tsc");

/**
 * What the check may read besides the tool code: the guest API, zod's declarations (which the
 * guest API re-exports) and TypeScript's own lib files. Tool code can name any path in an
 * import, an `import("...")` type or a `/// <reference path>`, and tsc would read it and
 * show its types in the errors it reports (literal types included); anything else it read
 * fails the check without those errors.
 */
let readable: { files: Set<string>; dirs: string[] } | undefined;
function readableFiles(): { files: Set<string>; dirs: string[] } {
  if (readable) return readable;
  const fromGuest = createRequire(join(GUEST_DIR, "isola.d.ts"));
  const fromTypescript = createRequire(join(TYPESCRIPT_DIR, "package.json"));
  const native = `@typescript/typescript-${process.platform}-${process.arch}/package.json`;
  readable = {
    files: new Set(["isola.d.ts", "globals.d.ts"].map((name) => realpathSync(join(GUEST_DIR, name)))),
    dirs: [
      dirname(realpathSync(fromGuest.resolve("zod/package.json"))),
      join(dirname(realpathSync(fromTypescript.resolve(native))), "lib"),
    ].map((dir) => `${dir}/`),
  };
  return readable;
}

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
  for (const line of output.split(/\r?\n/)) {
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
    } else if (line.trim()) {
      // An error outside the tool code (a broken setup): still report it, never drop it.
      diagnostics.push({ step: "types", file: "", line: 0, column: 0, message: line.trim() });
    }
  }
  return diagnostics;
}

/** Type-checks the files against the guest API with TypeScript's native compiler (~0.1-0.5 s). */
export async function typecheckServer(files: ServerSource): Promise<CompileDiagnostic[]> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), "isola-tsc-")));
  try {
    for (const [name, source] of Object.entries(files)) {
      await mkdir(dirname(join(dir, "src", name)), { recursive: true });
      await writeFile(join(dir, "src", name), source);
    }
    await writeFile(join(dir, "tsconfig.json"), tsconfig(Object.keys(files)));
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [TSC, "-p", "tsconfig.json", "--pretty", "false", "--listFiles"],
        { cwd: dir, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          // Exit code 2 means "diagnostics were reported"; anything else without output is a failure.
          if (error && !stdout && (error as { code?: unknown }).code !== 2)
            reject(new Error(`tsc failed: ${stderr || error.message}`));
          else resolve(stdout);
        },
      );
    });
    // --listFiles prints every file the program read as an absolute path; diagnostics never start with "/".
    const lines = output.split(/\r?\n/);
    const read = lines.filter((line) => line.startsWith("/"));
    const allowed = readableFiles();
    const outside = read.filter(
      (file) =>
        !file.startsWith(`${dir}/src/`) &&
        !allowed.files.has(file) &&
        !allowed.dirs.some((prefix) => file.startsWith(prefix)),
    );
    if (outside.length) {
      const message = `the code refers to ${outside.length} file(s) outside the server's sources; only "isola" and the server's own files may be imported or referenced`;
      return [{ step: "types", file: "", line: 0, column: 0, message }];
    }
    const diagnostics = parseTscOutput(lines.filter((line) => !line.startsWith("/")).join("\n"));
    // Every program reads at least the tool code: no list means the check above did not happen.
    if (read.length === 0) {
      diagnostics.push({ step: "types", file: "", line: 0, column: 0, message: "tsc did not list the files it read" });
    }
    return diagnostics;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
