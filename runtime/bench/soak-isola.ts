// Isola for the soak: `isola start` as a real process of its own (roles runtime + control), so that
// what is sampled is Isola's memory and handles, not the benchmark's. Stores: PostgreSQL (a fresh
// database) and Redis when DATABASE_URL and REDIS_URL are set, the embedded ones otherwise.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Db, openDatabase } from "../src/stores/database.ts";
import { spawnIsola } from "../test/support/isola-process.ts";
import { createTestDatabase } from "../test/support/postgres.ts";
import { freePort } from "../test/support/redis-server.ts";
import { benchEnvironment } from "./isola-stack.ts";

export interface SoakIsola {
  /** http://127.0.0.1:PORT, also PUBLIC_URL. */
  origin: string;
  pid: number;
  /** What the process logged it runs on, e.g. "postgres + redis". */
  stores: string;
  metricsToken: string;
  /**
   * The database, when it is PostgreSQL (another process may connect): deploys copy a compiled
   * version row instead of compiling the same source again. Undefined on the embedded database.
   */
  db: Db | undefined;
  /** A control API call as the bootstrapped owner; throws unless it answers 2xx. */
  api(method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** Log lines at warn and above since the last call (shard restarts, failed requests). */
  takeWarnings(): string[];
  /** SIGTERM, then waits for the exit; drops the database the soak created. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startSoakIsola(options: { embedded: boolean; shards?: string }): Promise<SoakIsola> {
  const dir = mkdtempSync(join(tmpdir(), "isola-soak-"));
  const { DATABASE_URL, REDIS_URL } = process.env;
  const real = !options.embedded && DATABASE_URL && REDIS_URL ? { DATABASE_URL, REDIS_URL } : undefined;
  const database = real ? await createTestDatabase(real.DATABASE_URL) : undefined;
  const port = await freePort();
  const { env, adminToken } = benchEnvironment(dir, port);
  const metricsToken = randomBytes(24).toString("hex");
  const isola = await spawnIsola(
    {
      ...env,
      HOST: "127.0.0.1",
      ISOLA_METRICS_TOKEN: metricsToken,
      ...(options.shards ? { ISOLA_SANDBOX_SHARDS: options.shards } : {}),
      ...(real && database ? { DATABASE_URL: database.url, REDIS_URL: real.REDIS_URL } : {}),
    },
    undefined,
    60_000,
  );
  const listening = JSON.parse(isola.lines.find((line) => line.includes('"isola is listening"')) ?? "{}");
  const origin = isola.url;
  const opened = database ? await openDatabase({ databaseUrl: database.url, dataDir: dir }) : undefined;

  return {
    origin,
    pid: isola.child.pid as number,
    stores: `${listening.database} + ${listening.bus}`,
    metricsToken,
    db: opened?.db,
    async api(method, path, body) {
      const response = await fetch(`${origin}/api/v1/${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
      return text ? JSON.parse(text) : {};
    },
    takeWarnings() {
      // Every line goes to `lines` (one access line per request at info): keep only what matters.
      return isola.lines.splice(0).filter((line) => ((JSON.parse(line) as { level?: number }).level ?? 0) >= 40);
    },
    async stop() {
      isola.child.kill("SIGTERM");
      const exit = await isola.exited;
      await opened?.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
      return exit;
    },
  };
}
