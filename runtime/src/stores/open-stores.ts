import { type Bus, type Config, migrateToLatest, pendingMigrations } from "@isola/schema";
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

/**
 * Opens the database and the bus that the configuration names. The database is migrated, or
 * with ISOLA_MIGRATE_ON_START=false (a fleet, migrated by its release command) only checked.
 */
export async function openStores(config: Config, logger: Logger): Promise<Stores> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onPoolError: (error) => logger.warn({ err: error.message }, "idle database connection failed"),
  });
  try {
    if (config.migrateOnStart) {
      const applied = await migrateToLatest(database.db);
      logger.info({ database: database.kind, applied }, applied.length ? "database migrated" : "database up to date");
    } else {
      const pending = await pendingMigrations(database.db);
      if (pending.length) throw new Error(behindMessage(pending));
      logger.info({ database: database.kind, applied: [] }, "database up to date (not migrated on start)");
    }
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

/** Why a node that does not migrate refuses to start, and what the operator runs. */
export function behindMessage(pending: string[]): string {
  return (
    `the database schema is behind this release: ${pending.length} migration(s) pending (${pending.join(", ")}). ` +
    "Run `isola migrate` once (the release command; in the image: node --no-node-snapshot runtime/src/main.ts migrate), " +
    "or set ISOLA_MIGRATE_ON_START=true to migrate on start"
  );
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
