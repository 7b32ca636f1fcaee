// Vitest global setup: the real PostgreSQL and Redis every run tests against. DATABASE_URL and
// REDIS_URL name them (.ci/run starts a pair and sets both); when they are unset, this starts a
// throwaway pair on loopback for the run (the binaries come from Debian's packages, which
// `npm test` installs when it can: scripts/ensure-test-tools.mjs) and stops them after. The
// forked test workers inherit the variables. A URL that is set but unreachable fails the run.

import { Redis } from "ioredis";
import pg from "pg";
import { PostgresServer } from "./postgres-server.ts";
import { RedisServer } from "./redis-server.ts";

async function reachable(kind: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (error) {
    throw new Error(`${kind} is set but unreachable: ${(error as Error).message}`);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const { ISOLA_REQUIRE_REAL_STORES } = process.env;
  if (ISOLA_REQUIRE_REAL_STORES === "1" && (!process.env.DATABASE_URL || !process.env.REDIS_URL)) {
    throw new Error("ISOLA_REQUIRE_REAL_STORES=1 needs DATABASE_URL and REDIS_URL (see .ci/run)");
  }
  const [postgres, redis] = await Promise.all([
    process.env.DATABASE_URL ? undefined : PostgresServer.start(),
    process.env.REDIS_URL ? undefined : RedisServer.start(),
  ]);
  if (postgres) process.env.DATABASE_URL = postgres.adminUrl;
  if (redis) process.env.REDIS_URL = redis.url;
  const { DATABASE_URL, REDIS_URL } = process.env as { DATABASE_URL: string; REDIS_URL: string };
  await reachable("DATABASE_URL", async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    await client.end();
  });
  await reachable("REDIS_URL", async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await client.connect();
    await client.quit();
  });
  const started = [postgres && "PostgreSQL", redis && "Redis"].filter(Boolean);
  console.log(
    `store suites run against: pglite, memory bus, postgres, redis${started.length ? ` (${started.join(" and ")} started for this run)` : ""}`,
  );
  return async () => {
    await Promise.all([postgres?.destroy(), redis?.stop()]);
  };
}
