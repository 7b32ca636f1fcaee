// Template code in a real sandbox: compiled by the real compiler from the gallery's files (with
// settings a test chooses), its tools called in a shard whose DNS sends the templates' upstream
// hosts to a fake upstream on loopback. The fake speaks plain http, so a test points a template
// at it by changing only the scheme and port of its base URL setting: the host, and so the
// egress the sandbox enforces, stays the real one.
import { fileURLToPath } from "node:url";
import { loadCatalogue, type Template, templateFiles } from "@isola/control";
import { type CompileResult, compileServer, SandboxSupervisor } from "@isola/sandbox";
import type { Artifact } from "@isola/schema";

const SHARD = fileURLToPath(new URL("./dns-stub-shard.mjs", import.meta.url));

export const CATALOGUE = loadCatalogue();

export function template(id: string): Template {
  const found = CATALOGUE.get(id);
  if (!found) throw new Error(`no template ${id}`);
  return found;
}

/** What a tool call answered: an MCP tool result. */
export interface ToolResult {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface Deployed {
  artifact: Artifact;
  call(tool: string, args?: Record<string, unknown>, env?: Record<string, string>): Promise<ToolResult>;
  read(uri: string): Promise<{ contents: { uri: string; mimeType?: string; text?: string }[] }>;
}

export interface TemplateSandbox {
  compile(id: string, config?: Record<string, unknown>): Promise<CompileResult>;
  /** Compiles (it must succeed) and returns a handle to call its tools as the runtime would. */
  deploy(id: string, config?: Record<string, unknown>): Promise<Deployed>;
  close(): Promise<void>;
}

export async function startTemplateSandbox(): Promise<TemplateSandbox> {
  const bundles = new Map<string, string>();
  const supervisor = new SandboxSupervisor({
    shards: 1,
    entry: SHARD,
    loadArtifact: async (_serverId, hash) => {
      const bundle = bundles.get(hash);
      if (bundle === undefined) throw new Error(`no artifact ${hash}`);
      return bundle;
    },
  });
  await supervisor.start();
  let servers = 0;
  const compile = (id: string, config: Record<string, unknown> = {}) =>
    compileServer(templateFiles(template(id), config), { describe: (bundle) => supervisor.describe(bundle) });
  return {
    compile,
    async deploy(id, config = {}) {
      const result = await compile(id, config);
      if (!result.ok) throw new Error(`${id} did not compile: ${JSON.stringify(result.errors, null, 2)}`);
      const { artifact } = result;
      bundles.set(artifact.hash, artifact.bundle);
      const server = { id: `${id}-${++servers}`, hash: artifact.hash };
      // As the runtime does: the hosts the code declares (approved at deploy), plain http to them
      // (the operator switch), and loopback (the LAN switch), since the fake upstream lives there.
      const egress = {
        allowedHosts: artifact.manifest.egress,
        allowHttpHosts: artifact.manifest.egress,
        allowPrivateNetworks: true,
      };
      const base = { server, env: {}, user: null, egress };
      return {
        artifact,
        call: async (tool, args = {}, env = {}) =>
          (await supervisor.call({ ...base, kind: "tool", target: tool, args, env })) as ToolResult,
        read: async (uri) =>
          (await supervisor.call({ ...base, kind: "resource", target: uri, args: {} })) as Awaited<
            ReturnType<Deployed["read"]>
          >,
      };
    },
    close: () => supervisor.close(),
  };
}

/** The text of a result's first content block. */
export const textOf = (result: ToolResult): string => result.content[0]?.text ?? "";

/** A list in a result's structured content (throws, failing the test, when it is not there). */
export function listIn<T>(result: ToolResult, key: string): T[] {
  const value = result.structuredContent?.[key];
  if (!Array.isArray(value)) throw new Error(`no list "${key}" in ${JSON.stringify(result)}`);
  return value as T[];
}
