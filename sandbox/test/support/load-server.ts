import { readFile } from "node:fs/promises";
import type { Artifact, ServerSource } from "@isola/schema";
import { compileServer } from "../../src/compiler/compile.ts";
import type { IsolateLimits } from "../../src/host/limits.ts";
import { type CallOptions, type IsolateOptions, TenantIsolate } from "../../src/host/tenant-isolate.ts";

// Tool code as the platform runs it: compiled (bundled, type-checked, checked, described) by
// the real compiler, then loaded in the real isolate host in this process.

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** The text of a fixture in sandbox/test/fixtures. */
export function fixture(name: string): Promise<string> {
  return readFile(new URL(name, FIXTURES), "utf8");
}

/** Compiles one file (as index.ts) or a set of files; throws with every diagnostic when the build fails. */
export async function compile(source: string | ServerSource): Promise<Artifact> {
  const files = typeof source === "string" ? { "index.ts": source } : source;
  const result = await compileServer(files, {
    async describe(bundle) {
      const isolate = await TenantIsolate.create(bundle);
      try {
        return await isolate.describe();
      } finally {
        isolate.dispose();
      }
    },
  });
  if (!result.ok) {
    const lines = result.errors.map((e) => `${e.step} ${e.file}:${e.line}:${e.column} ${e.message}`);
    throw new Error(`the server did not compile:\n${lines.join("\n")}`);
  }
  return result.artifact;
}

export interface LoadedServer {
  isolate: TenantIsolate;
  artifact: Artifact;
}

/** Compiles the source and loads it in a fresh isolate; dispose `isolate` when done. */
export async function loadServer(
  source: string | ServerSource,
  limits: Partial<IsolateLimits> = {},
  options: IsolateOptions = {},
): Promise<LoadedServer> {
  const artifact = await compile(source);
  return { isolate: await loadArtifact(artifact, limits, options), artifact };
}

/** Another isolate for an artifact already compiled (e.g. with other limits). */
export function loadArtifact(
  artifact: Artifact,
  limits: Partial<IsolateLimits> = {},
  options: IsolateOptions = {},
): Promise<TenantIsolate> {
  return TenantIsolate.create({ code: artifact.bundle, hash: artifact.hash }, limits, options);
}

/** Call options with nothing granted: no secrets, no user, no egress; `extra` adds to them. */
export function callOptions(extra: Partial<CallOptions> = {}): CallOptions {
  return { env: {}, user: null, egress: { allowedHosts: [] }, ...extra };
}
