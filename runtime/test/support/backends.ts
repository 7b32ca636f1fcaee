import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bus } from "@isola/schema";
import { type OpenDatabase, openDatabase } from "../../src/stores/database.ts";
import { MemoryBus } from "../../src/stores/memory-bus.ts";
import { RedisBus } from "../../src/stores/redis-bus.ts";
import { createTestDatabase } from "./postgres.ts";

export interface BusOptions {
  onHandlerError?: (error: unknown, channel: string) => void;
}

export interface BusBackend {
  name: "memory" | "redis";
  open(options?: BusOptions): Promise<Bus>;
}

/** The in-process bus always; Redis too when REDIS_URL is set. Each open() gets its own key space. */
export function busBackends(): BusBackend[] {
  const backends: BusBackend[] = [{ name: "memory", open: async (options) => new MemoryBus(options) }];
  const url = process.env.REDIS_URL;
  if (url) {
    backends.push({
      name: "redis",
      open: (options) => RedisBus.connect({ url, prefix: `test:${randomBytes(6).toString("hex")}:`, ...options }),
    });
  }
  return backends;
}

export interface DatabaseBackend {
  name: "pglite" | "postgres";
  /** A new, empty database; `close()` also removes it. */
  open(): Promise<OpenDatabase>;
}

/** Embedded PGlite always; PostgreSQL too when DATABASE_URL is set. */
export function databaseBackends(): DatabaseBackend[] {
  const backends: DatabaseBackend[] = [
    {
      name: "pglite",
      open: async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "isola-db-"));
        const database = await openDatabase({ databaseUrl: undefined, dataDir });
        return {
          ...database,
          close: () => database.close().finally(() => rmSync(dataDir, { recursive: true, force: true })),
        };
      },
    },
  ];
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    backends.push({
      name: "postgres",
      open: async () => {
        const created = await createTestDatabase(adminUrl);
        const database = await openDatabase({ databaseUrl: created.url, dataDir: "/nonexistent" });
        return { ...database, close: () => database.close().finally(() => created.drop()) };
      },
    });
  }
  return backends;
}
