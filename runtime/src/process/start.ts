import type { Config } from "@isola/schema";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { buildApp } from "../http/app.ts";
import type { ReadinessDetails } from "../http/health.ts";
import type { MetricsEndpoint } from "../http/metrics-route.ts";
import type { UrlErrorAnswer } from "../http/url-errors.ts";
import { openStores, type Stores } from "../stores/open-stores.ts";

/** What the composition root builds once the stores are open: the roles' plugins and what they need. */
export interface Composition {
  plugins: FastifyPluginAsync[];
  /** The roles the plugins serve, for the startup log. */
  mounted: string[];
  /** What the roles report in /readyz `details` (the runtime's limits). */
  readiness?: ReadinessDetails;
  /** How each role answers URLs the router cannot match. */
  urlErrors?: UrlErrorAnswer[];
  /** This node's metrics, when ISOLA_METRICS_TOKEN turns them on. */
  metrics?: MetricsEndpoint;
  /** Closes what the composition started (sandbox shards), after the server stopped. */
  close(): Promise<void>;
}

export type Compose = (config: Config, stores: Stores, logger: Logger) => Promise<Composition>;

export interface RunningIsola {
  app: FastifyInstance;
  stores: Stores;
  /** The address actually bound (differs from the configured port when PORT=0). */
  url: string;
  mounted: string[];
  /** Stops accepting connections, waits for in-flight requests, then closes the stores. */
  stop(): Promise<void>;
}

/**
 * Opens the stores, lets the composition root build the roles' plugins, and listens.
 */
export async function startIsola(config: Config, logger: Logger, compose: Compose): Promise<RunningIsola> {
  const stores = await openStores(config, logger);
  let app: FastifyInstance;
  let composition: Composition | undefined;
  try {
    composition = await compose(config, stores, logger);
    app = await buildApp({
      stores,
      logger,
      plugins: composition.plugins,
      readiness: composition.readiness,
      urlErrors: composition.urlErrors,
      metrics: composition.metrics,
      trustProxy: config.trustProxy,
    });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await composition?.close();
    await stores.close();
    throw error;
  }
  const { close, mounted } = composition;
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  return {
    app,
    stores,
    url,
    mounted,
    stop: async () => {
      await app.close();
      await close();
      await stores.close();
    },
  };
}
