import type { Config } from "@isola/schema";
import { pino } from "pino";
import { exitOnSignals } from "./shutdown.ts";
import { type Compose, startIsola } from "./start.ts";

export interface ServeOptions {
  /** Builds the roles this process serves (the composition root). */
  compose: Compose;
  /** Time allowed between SIGTERM and exit. Orchestrators wait 10 s before SIGKILL. */
  graceMs?: number;
}

/**
 * Runs Isola as a long-lived process: JSON logs on stdout, the server listening,
 * and SIGTERM/SIGINT draining in-flight requests before the stores close.
 * A startup failure logs one fatal line and exits 1.
 */
export async function serve(config: Config, options: ServeOptions): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  process.on("unhandledRejection", (reason) => {
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, "unhandled rejection");
  });
  let running: Awaited<ReturnType<typeof startIsola>>;
  try {
    running = await startIsola(config, logger, options.compose);
  } catch (error) {
    logger.fatal(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  logger.info(
    {
      url: running.url,
      publicUrl: config.publicUrl,
      roles: config.roles,
      mounted: running.mounted,
      database: running.stores.dbKind,
      bus: running.stores.bus.kind,
    },
    "isola is listening",
  );
  exitOnSignals(running.stop, {
    graceMs: options.graceMs ?? 9000,
    log: (level, message) => logger[level](message),
  });
}
