// Vitest global setup: says which real stores this run tests against, and fails the
// run when CI requires them (ISOLA_REQUIRE_REAL_STORES=1) but they are missing or down.
// Without DATABASE_URL / REDIS_URL the store suites run against PGlite and the in-process
// bus only; .ci/run starts a real PostgreSQL and Redis and sets both.

import { Redis } from "ioredis";
import pg from "pg";

async function reachable(kind: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (error) {
    throw new Error(`${kind} is set but unreachable: ${(error as Error).message}`);
  }
}

export default async function setup(): Promise<void> {
  const { DATABASE_URL, REDIS_URL, ISOLA_REQUIRE_REAL_STORES } = process.env;
  if (ISOLA_REQUIRE_REAL_STORES === "1" && (!DATABASE_URL || !REDIS_URL)) {
    throw new Error("ISOLA_REQUIRE_REAL_STORES=1 needs DATABASE_URL and REDIS_URL (see .ci/run)");
  }
  if (DATABASE_URL) {
    await reachable("DATABASE_URL", async () => {
      const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
      await client.connect();
      await client.end();
    });
  }
  if (REDIS_URL) {
    await reachable("REDIS_URL", async () => {
      const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      await redis.connect();
      await redis.quit();
    });
  }
  const stores = ["pglite", "memory bus", ...(DATABASE_URL ? ["postgres"] : []), ...(REDIS_URL ? ["redis"] : [])];
  console.log(`store suites run against: ${stores.join(", ")}`);
  if (!DATABASE_URL || !REDIS_URL) {
    console.log("set DATABASE_URL and REDIS_URL (as .ci/run does) to also test against real PostgreSQL and Redis");
  }
}
