import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { CompileDiagnostic, ServerSource } from "@isola/schema";
import { build, type Message, type Plugin } from "esbuild";

/** `import { ... } from "isola"` reads the module the guest runtime installed. */
const GUEST_MODULE = `const m = globalThis.__isola;
export const defineServer = m.defineServer, tool = m.tool, resource = m.resource, prompt = m.prompt, z = m.z;
export default m;`;

/** Resolves imports inside the given files only: "isola", and relative paths between them. */
function sourcePlugin(files: ServerSource): Plugin {
  return {
    name: "isola-source",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.path === "isola") return { path: "isola", namespace: "isola-guest" };
        if (args.kind === "entry-point") return { path: args.path, namespace: "tenant" };
        if (args.path.startsWith("./") || args.path.startsWith("../")) {
          const resolved = posix.normalize(posix.join(posix.dirname(args.importer), args.path));
          // The same candidates as the type check's "bundler" resolution: exact, + .ts, .js -> .ts, a folder's index.ts.
          const candidate = [
            resolved,
            `${resolved}.ts`,
            resolved.replace(/\.js$/, ".ts"),
            posix.join(resolved, "index.ts"),
          ].find((p) => Object.hasOwn(files, p));
          if (candidate) return { path: candidate, namespace: "tenant" };
          return { errors: [{ text: `cannot find "${args.path}" among the server's files` }] };
        }
        return {
          errors: [
            { text: `only "isola" may be imported (and the server's own files); "${args.path}" is not available` },
          ],
        };
      });
      build.onLoad({ filter: /.*/, namespace: "isola-guest" }, () => ({ contents: GUEST_MODULE, loader: "js" }));
      build.onLoad({ filter: /.*/, namespace: "tenant" }, (args) => ({ contents: files[args.path], loader: "ts" }));
    },
  };
}

function diagnostic(message: Message): CompileDiagnostic {
  const location = message.location;
  return {
    step: "bundle",
    file: location?.file.replace(/^tenant:/, "") ?? "",
    line: location?.line ?? 0,
    column: location ? utf16Column(location.lineText, location.column) + 1 : 0,
    message: message.text,
  };
}

/** esbuild counts columns in UTF-8 bytes; diagnostics (like tsc's and editors') count UTF-16 code units. */
function utf16Column(lineText: string, byteColumn: number): number {
  return Buffer.from(lineText, "utf8").subarray(0, byteColumn).toString("utf8").length;
}

export type BundleResult = { ok: true; code: string; hash: string } | { ok: false; errors: CompileDiagnostic[] };

/** Bundles the server's files into one script that runs after the guest runtime. */
export async function bundleServer(files: ServerSource, entry: string): Promise<BundleResult> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      target: "es2024",
      // Tool code is written as modules, which are strict; an iife is not unless it says so.
      banner: { js: '"use strict";' },
      charset: "utf8",
      legalComments: "none",
      logLevel: "silent",
      plugins: [sourcePlugin(files)],
    });
    const code = result.outputFiles[0]?.text ?? "";
    return { ok: true, code, hash: createHash("sha256").update(code).digest("hex") };
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors) throw error;
    return { ok: false, errors: errors.map(diagnostic) };
  }
}
