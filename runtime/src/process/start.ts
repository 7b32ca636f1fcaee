import type { Config } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApp, type RolePlugin } from "../http/app.ts";
import { openStores, type Stores } from "../stores/open-stores.ts";

export interface RunningIsola {
  app: FastifyInstance;
  stores: Stores;
  /** The address actually bound (differs from the configured port when PORT=0). */
  url: string;
  /** Stops accepting connections, waits for in-flight requests, then closes the stores. */
  stop(): Promise<void>;
}

/**
 * Opens the stores, builds the app with the given role plugins and listens.
 * The caller (the composition root) decides which plugins ISOLA_ROLES mounts.
 */
export async function startIsola(config: Config, logger: Logger, plugins: RolePlugin[]): Promise<RunningIsola> {
  const stores = await openStores(config, logger);
  let app: FastifyInstance;
  try {
    app = await buildApp({ config, stores, logger, plugins });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await stores.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  return {
    app,
    stores,
    url,
    stop: async () => {
      await app.close();
      await stores.close();
    },
  };
}
