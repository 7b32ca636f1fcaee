import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { CompileDiagnostic, ServerSource } from "@isola/schema";
import { build, type Message, type Plugin } from "esbuild";

/** `import { ... } from "isola"` reads the module the guest runtime installed. */
const GUEST_MODULE = `const m = globalThis.__isola;
export const defineServer = m.defineServer, tool = m.tool, resource = m.resource, prompt = m.prompt, z = m.z;
export default m;`;

/** The specifier through which the merging module below imports the generated declarative module. */
const DECLARED = "isola:declared";

/**
 * With declarative tools, "isola" as the server's own code sees it: defineServer() gets the
 * declared tools, secrets and egress hosts added to what the code defines. A tool defined in
 * both fails the load (a compile diagnostic) rather than one silently replacing the other.
 * The generated module itself imports the plain module, so there is no import cycle.
 */
const MERGING_MODULE = `import * as declared from "${DECLARED}";
const m = globalThis.__isola;
const union = (own, more) => (own === undefined || Array.isArray(own) ? [...new Set([...(own ?? []), ...more])] : own);
function merge(definition) {
  if (typeof definition !== "object" || definition === null) return definition;
  const tools = definition.tools ?? {};
  if (typeof tools !== "object" || tools === null) return definition;
  for (const name of Object.keys(declared.tools)) {
    if (Object.hasOwn(tools, name)) {
      throw new TypeError("defineServer(): the tool " + JSON.stringify(name) + " is defined both in the code and as a declarative tool; rename one of them");
    }
  }
  return {
    ...definition,
    tools: { ...tools, ...declared.tools },
    secrets: union(definition.secrets, declared.secrets),
    egress: union(definition.egress, declared.egress),
  };
}
export const defineServer = (definition) => m.defineServer(merge(definition));
export const tool = m.tool, resource = m.resource, prompt = m.prompt, z = m.z;
export default Object.freeze({ ...m, defineServer });`;

/**
 * Resolves imports inside the given files only: "isola", and relative paths between them.
 * `declarative` names the generated module of declarative tools, when there is one.
 */
function sourcePlugin(files: ServerSource, declarative?: string): Plugin {
  return {
    name: "isola-source",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.path === "isola") {
          const merging = declarative !== undefined && !(args.namespace === "tenant" && args.importer === declarative);
          return { path: merging ? "merging" : "isola", namespace: "isola-guest" };
        }
        if (args.path === DECLARED && args.namespace === "isola-guest" && declarative !== undefined) {
          return { path: declarative, namespace: "tenant" };
        }
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
      build.onLoad({ filter: /.*/, namespace: "isola-guest" }, (args) => ({
        contents: args.path === "merging" ? MERGING_MODULE : GUEST_MODULE,
        loader: "js",
      }));
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

/**
 * Bundles the server's files into one script that runs after the guest runtime. `declarative`:
 * the file among them that holds the generated declarative tools, merged into defineServer().
 */
export async function bundleServer(files: ServerSource, entry: string, declarative?: string): Promise<BundleResult> {
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
      plugins: [sourcePlugin(files, declarative)],
    });
    const code = result.outputFiles[0]?.text ?? "";
    return { ok: true, code, hash: createHash("sha256").update(code).digest("hex") };
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors) throw error;
    return { ok: false, errors: errors.map(diagnostic) };
  }
}
