import { fileURLToPath } from "node:url";
import { bundleServer } from "../../src/compiler/bundle.ts";
import { compileServer } from "../../src/compiler/compile.ts";
import {
  type SandboxCall,
  SandboxSupervisor,
  type SupervisorEvent,
  type SupervisorOptions,
  shardFor,
} from "../../src/host/supervisor.ts";

export const SHARD_WITH_DNS_STUB = fileURLToPath(new URL("./shard-with-dns-stub.ts", import.meta.url));

export interface Harness {
  supervisor: SandboxSupervisor;
  events: SupervisorEvent[];
  /** [serverId, level, message] of lines logged outside any call. */
  serverLogs: [string, string, string][];
  /** Resolves once the server's shard has a call in flight. */
  inFlight(serverId: string): Promise<void>;
  /** Compiles with every check, as a deploy would. */
  deploy(serverId: string, source: string): Promise<{ id: string; hash: string }>;
  /** Bundles without the compiler's checks: hostile code that got past them, to test the run-time defences. */
  deployUnchecked(serverId: string, source: string): Promise<{ id: string; hash: string }>;
  call(
    server: { id: string; hash: string },
    tool: string,
    args?: unknown,
    extra?: Partial<SandboxCall>,
  ): Promise<unknown>;
  close(): Promise<void>;
}

/** A server id that the supervisor routes to `shard` (of `shards`). */
export function idOnShard(prefix: string, shard: number, shards: number): string {
  for (let i = 0; ; i++) if (shardFor(`${prefix}-${i}`, shards) === shard) return `${prefix}-${i}`;
}

export async function startHarness(options: Partial<SupervisorOptions> = {}): Promise<Harness> {
  const code = new Map<string, string>();
  const events: SupervisorEvent[] = [];
  const serverLogs: [string, string, string][] = [];
  const supervisor = new SandboxSupervisor({
    shards: 2,
    loadArtifact: async (_serverId, hash) => {
      const found = code.get(hash);
      if (found === undefined) throw new Error(`no artifact ${hash}`);
      return found;
    },
    onEvent: (event) => events.push(event),
    onServerLog: (serverId, level, message) => serverLogs.push([serverId, level, message]),
    ...options,
  });
  await supervisor.start();
  return {
    supervisor,
    events,
    serverLogs,
    async inFlight(serverId) {
      const deadline = Date.now() + 10_000;
      while (!supervisor.shards().some((s) => s.pid === supervisor.shardOf(serverId) && s.inFlight > 0)) {
        if (Date.now() > deadline) throw new Error(`no call in flight for ${serverId}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async deploy(serverId, source) {
      const result = await compileServer({ "index.ts": source }, { describe: (bundle) => supervisor.describe(bundle) });
      if (!result.ok) throw new Error(`compile failed: ${JSON.stringify(result.errors)}`);
      code.set(result.artifact.hash, result.artifact.bundle);
      return { id: serverId, hash: result.artifact.hash };
    },
    async deployUnchecked(serverId, source) {
      const bundle = await bundleServer({ "index.ts": source }, "index.ts");
      if (!bundle.ok) throw new Error(`bundle failed: ${JSON.stringify(bundle.errors)}`);
      code.set(bundle.hash, bundle.code);
      return { id: serverId, hash: bundle.hash };
    },
    call(server, tool, args = {}, extra = {}) {
      return supervisor.call({
        server,
        kind: "tool",
        target: tool,
        args,
        env: {},
        user: null,
        egress: { allowedHosts: [] },
        ...extra,
      });
    },
    close: () => supervisor.close(),
  };
}

/** A tool server whose every tool is `run` bodies given as source text (unchecked code). */
export function serverSource(tools: Record<string, string>, extra = ""): string {
  const entries = Object.entries(tools)
    .map(
      ([name, body]) =>
        `${JSON.stringify(name)}: tool({ description: "t", input: z.object({}).passthrough(), async run(input, ctx) { ${body} } })`,
    )
    .join(",\n");
  return `import { defineServer, tool, z } from "isola";\n${extra}\ndefineServer({ name: "s", secrets: ["SECRET"], tools: { ${entries} } });`;
}
