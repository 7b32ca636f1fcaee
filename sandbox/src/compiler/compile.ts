import type { Artifact, CompileDiagnostic, Manifest, ServerSource } from "@isola/schema";
import { prepareSources } from "../declarative/sources.ts";
import { bundleServer } from "./bundle.ts";
import { checkCode } from "./checks/code-checks.ts";
import { checkManifest } from "./checks/manifest-checks.ts";
import { COMPILE_LIMITS } from "./limits.ts";
import { typecheckServer } from "./typecheck.ts";

export const COMPILER_VERSION = "isola-compiler/1";

export type CompileResult = { ok: true; artifact: Artifact } | { ok: false; errors: CompileDiagnostic[] };

export interface CompileDependencies {
  /**
   * Loads a bundle in a sandbox and returns what its code declares (the raw manifest), or
   * throws with the reason it failed to load. Tool code never runs in the caller's process.
   */
  describe(bundle: { code: string; hash: string }): Promise<unknown>;
}

/**
 * Source -> artifact, as a list of steps: declarative tools and files, bundle + types + code rules (in parallel),
 * size, load in a sandbox, manifest. The first step with errors stops the build and its
 * errors come back, each with a file and position where it has one.
 */
export async function compileServer(
  source: ServerSource,
  deps: CompileDependencies,
  /** Declarative tools (schema's `declarativeServer`), alone (`source` empty) or besides the code. */
  declarative?: unknown,
): Promise<CompileResult> {
  const prepared = prepareSources(source, declarative);
  if (!prepared.ok) return { ok: false, errors: prepared.errors };
  const { files } = prepared;

  const [bundle, typeErrors, codeErrors] = await Promise.all([
    bundleServer(files, prepared.entry, prepared.declarativeFile),
    typecheckServer(files),
    checkCode(files),
  ]);
  const errors = [...(bundle.ok ? [] : bundle.errors), ...typeErrors, ...codeErrors];
  if (!bundle.ok || errors.length) return { ok: false, errors };

  const size = Buffer.byteLength(bundle.code);
  if (size > COMPILE_LIMITS.maxBundleBytes) {
    const message = `the bundle is ${size} bytes (at most ${COMPILE_LIMITS.maxBundleBytes})`;
    return { ok: false, errors: [{ step: "size", file: "", line: 0, column: 0, message }] };
  }

  let raw: unknown;
  try {
    raw = await deps.describe({ code: bundle.code, hash: bundle.hash });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, errors: [{ step: "load", file: "", line: 0, column: 0, message }] };
  }
  const checked = checkManifest(raw, files);
  if (!checked.manifest) return { ok: false, errors: checked.problems };
  return {
    ok: true,
    artifact: {
      bundle: bundle.code,
      manifest: checked.manifest as Manifest,
      hash: bundle.hash,
      compilerVersion: COMPILER_VERSION,
    },
  };
}
