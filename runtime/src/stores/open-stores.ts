import { type Bus, type Config, migrateToLatest } from "@isola/schema";
import type { Logger } from "pino";
import { type Db, openDatabase } from "./database.ts";
import { MemoryBus } from "./memory-bus.ts";
import { RedisBus } from "./redis-bus.ts";

/** The stores every box receives, built once at the composition root. */
export interface Stores {
  db: Db;
  dbKind: "pglite" | "postgres";
  bus: Bus;
  close(): Promise<void>;
}

/** Opens the database (migrating it) and the bus that the configuration names. */
export async function openStores(config: Config, logger: Logger): Promise<Stores> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onPoolError: (error) => logger.warn({ err: error.message }, "idle database connection failed"),
  });
  try {
    const applied = await migrateToLatest(database.db);
    logger.info({ database: database.kind, applied }, applied.length ? "database migrated" : "database up to date");
    const bus = config.redisUrl
      ? await connectRedis(config.redisUrl, logger)
      : new MemoryBus({ onHandlerError: busHandlerError(logger) });
    return {
      db: database.db,
      dbKind: database.kind,
      bus,
      close: async () => {
        await Promise.allSettled([bus.close()]);
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

function busHandlerError(logger: Logger) {
  return (error: unknown, channel: string) =>
    logger.error({ channel, err: error instanceof Error ? error.message : String(error) }, "bus subscriber threw");
}

async function connectRedis(url: string, logger: Logger): Promise<Bus> {
  let connected = true;
  return RedisBus.connect({
    url,
    onHandlerError: busHandlerError(logger),
    // Log transitions, not every reconnect attempt.
    onConnectionChange: (state, error) => {
      if ((state === "connected") === connected) return;
      connected = state === "connected";
      if (connected) logger.info("redis reconnected");
      else logger.warn({ err: error?.message }, "redis unreachable; bus operations fail until it is back");
    },
  });
}
