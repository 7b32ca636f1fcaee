import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import ivm from "isolated-vm";

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

/** How isolates get the runtime: deserialized from a V8 snapshot (fast), or by running the script. */
export type RuntimeLoading = "snapshot" | "script";

interface Prepared {
  source: string;
  /** Undefined when creating or checking the snapshot failed: then every isolate runs the script. */
  snapshot: ivm.ExternalCopy<ArrayBuffer> | undefined;
  /** V8's code cache for the script path, produced by this process from our own source. */
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
}

let prepared: Promise<Prepared> | undefined;

/**
 * Builds the runtime once per process: the source, and a snapshot of an isolate that has run
 * it. isolated-vm calls snapshots unstable, so the snapshot is checked before use and the
 * script path remains as the fallback. Snapshot code runs without limits: ours only.
 */
export function prepareGuestRuntime(): Promise<Prepared> {
  prepared ??= (async () => {
    const source = await guestRuntimeSource();
    let snapshot: ivm.ExternalCopy<ArrayBuffer> | undefined;
    try {
      snapshot = ivm.Isolate.createSnapshot([{ code: source, filename: "isola-runtime.js" }]);
      const probe = new ivm.Isolate({ memoryLimit: 32, snapshot });
      try {
        const context = await probe.createContext();
        const ready = await context.eval("typeof __isolaGuest === 'object' && typeof __isola === 'object'", {
          timeout: 1000,
        });
        if (ready !== true) snapshot = undefined;
      } finally {
        probe.dispose();
      }
    } catch {
      snapshot = undefined;
    }
    return { source, snapshot };
  })();
  return prepared;
}

/** A fresh isolate and context with the guest runtime loaded (not yet attached to a host). */
export async function runtimeIsolate(
  memoryMb: number,
  loading: RuntimeLoading,
  timeoutMs: number,
): Promise<{ isolate: ivm.Isolate; context: ivm.Context }> {
  const runtime = await prepareGuestRuntime();
  if (loading === "snapshot" && runtime.snapshot) {
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb, snapshot: runtime.snapshot });
    return { isolate, context: await isolate.createContext() };
  }
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const context = await isolate.createContext();
    const script = await isolate.compileScript(runtime.source, {
      filename: "isola-runtime.js",
      ...(runtime.cachedData ? { cachedData: runtime.cachedData } : { produceCachedData: true }),
    });
    runtime.cachedData ??= producedCache(script);
    await script.run(context, { timeout: timeoutMs });
    return { isolate, context };
  } catch (error) {
    isolate.dispose();
    throw error;
  }
}

/** compileScript's result carries the cache it produced, though its type does not say so. */
export function producedCache(script: ivm.Script): ivm.ExternalCopy<ArrayBuffer> | undefined {
  return (script as ivm.Script & ivm.CachedDataResult).cachedData;
}
