import { controlPlugin } from "@isola/control";
import { compileServer, SandboxSupervisor } from "@isola/sandbox";
import type { Config } from "@isola/schema";
import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import type { Composition } from "./process/start.ts";
import type { Stores } from "./stores/open-stores.ts";

/**
 * The composition root: builds what ISOLA_ROLES asks for from the stores, once. Roles that
 * are listed but not built yet mount nothing (the startup log lists what is mounted).
 */
export async function composeRoles(config: Config, stores: Stores, logger: Logger): Promise<Composition> {
  const roles = new Set(config.roles);
  // Tool code runs only in sandbox shards, supervised from here; the control plane compiles with them.
  const sandbox =
    roles.has("control") || roles.has("runtime")
      ? new SandboxSupervisor({
          ...(config.sandboxShards ? { shards: config.sandboxShards } : {}),
          loadArtifact: async (_serverId, hash) => {
            const row = await stores.db
              .selectFrom("server_versions")
              .select("bundle")
              .where("hash", "=", hash)
              .executeTakeFirst();
            if (!row) throw new Error(`no stored version has code ${hash.slice(0, 12)}`);
            return row.bundle;
          },
          onEvent: (event) =>
            logger[event.type === "shard-start" ? "debug" : "warn"]({ event }, `sandbox ${event.type}`),
        })
      : undefined;
  await sandbox?.start();

  const plugins: FastifyPluginAsync[] = [];
  const mounted: string[] = [];
  if (roles.has("control") && sandbox) {
    plugins.push(
      controlPlugin({
        db: stores.db,
        bus: stores.bus,
        config,
        compile: (files) => compileServer(files, { describe: (bundle) => sandbox.describe(bundle) }),
      }),
    );
    mounted.push("control");
  }
  return { plugins, mounted, close: async () => sandbox?.close() };
}
