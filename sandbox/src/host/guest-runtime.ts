import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const ENTRY = fileURLToPath(new URL("../../guest/runtime/index.ts", import.meta.url));

let built: Promise<string> | undefined;

/**
 * zod's `z.locales` re-exports every language (~250 KB, about half the runtime), and every
 * isolate would parse and keep it. Tool code gets English, zod's default.
 */
const englishOnly: Plugin = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => ({
      path: join(args.resolveDir, "..", "locales", "only-en.js"),
      namespace: "zod-locales",
    }));
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

/**
 * The guest runtime (sandbox/guest/runtime) with zod, bundled into one script that every
 * isolate runs before the tenant's bundle. Built once per process (~50 ms); trusted code.
 */
export function guestRuntimeSource(): Promise<string> {
  built ??= build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2024",
    mainFields: ["module", "main"],
    minify: true,
    legalComments: "none",
    logLevel: "silent",
    plugins: [englishOnly],
  }).then((result) => result.outputFiles[0]?.text ?? "");
  return built;
}
