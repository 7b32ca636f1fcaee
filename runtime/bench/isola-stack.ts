// Isola as `isola start` composes it (the same composition root, roles runtime + control), on
// a real port, with the benchmark's plan and a local OAuth issuer. Stores: the embedded ones
// (PGlite + the in-process bus) by default; a fresh PostgreSQL database and a key prefix in
// Redis with `realStores` (DATABASE_URL and REDIS_URL).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bus, migrateToLatest, parseConfig } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { pino } from "pino";
import { composeRoles } from "../src/compose.ts";
import { buildApp } from "../src/http/app.ts";
import { type Db, openDatabase } from "../src/stores/database.ts";
import { MemoryBus } from "../src/stores/memory-bus.ts";
import type { Stores } from "../src/stores/open-stores.ts";
import { RedisBus } from "../src/stores/redis-bus.ts";
import { storeGrant } from "../test/support/grants.ts";
import { createTestDatabase } from "../test/support/postgres.ts";
import { freePort } from "../test/support/redis-server.ts";
import { localIssuer } from "./local-issuer.ts";

const HELLO = readFileSync(new URL("../../examples/hello/index.ts", import.meta.url), "utf8");

/** High enough that no limit trips during the benchmark: it measures the checks, not refusals. */
const BENCH_PLAN = {
  id: "default",
  name: "Bench",
  maxServers: 5000,
  callsPerMonth: 2_147_483_647,
  memoryMb: 64,
  rateLimitPerMinute: 1_000_000,
};

export type AuthMode = "public" | "api_key" | "oauth";

export interface IsolaStack {
  /** http://127.0.0.1:PORT, also PUBLIC_URL. */
  origin: string;
  app: FastifyInstance;
  db: Db;
  /** The bootstrapped owner's token, for API calls the stack has no helper for. */
  adminToken: string;
  /** Log lines at warn and above (shard restarts and recycles, failed requests). */
  warnings: string[];
  /** Creates a server and deploys examples/hello to it: compiled once, through the API. */
  deployHello(slug: string, authMode: AuthMode): Promise<void>;
  /**
   * Creates a server and deploys `from`'s version to it through the API. The version row is
   * copied in the database: compiling the same source a thousand times would measure the
   * compiler, not the endpoint.
   */
  deployCopy(slug: string, authMode: AuthMode, from: string): Promise<void>;
  createApiKey(slug: string): Promise<string>;
  mintToken(slug: string): Promise<string>;
  /** Stops the server and the roles (usage is flushed), returns the tool calls usage recorded, closes the stores. */
  close(): Promise<{ usageCalls: number }>;
}

async function openBenchStores(realStores: boolean, dataDir: string): Promise<Stores> {
  let database: Awaited<ReturnType<typeof openDatabase>>;
  let drop = async () => {};
  let bus: Bus;
  if (realStores) {
    const { DATABASE_URL, REDIS_URL } = process.env;
    if (!DATABASE_URL || !REDIS_URL) throw new Error("--real-stores needs DATABASE_URL and REDIS_URL");
    const created = await createTestDatabase(DATABASE_URL);
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.url, dataDir });
    bus = await RedisBus.connect({ url: REDIS_URL, prefix: `bench:${randomBytes(6).toString("hex")}:` });
  } else {
    database = await openDatabase({ databaseUrl: undefined, dataDir });
    bus = new MemoryBus();
  }
  await migrateToLatest(database.db);
  return {
    db: database.db,
    dbKind: database.kind,
    bus,
    close: async () => {
      await bus.close();
      await database.close();
      await drop();
    },
  };
}

/**
 * Stores the active version of server `from` as version 1 of server `serverId` (not deployed).
 * Compiling the same source a thousand times would measure the compiler, not the endpoint.
 */
export async function copyActiveVersion(db: Db, from: string, serverId: string): Promise<void> {
  const version = await db
    .selectFrom("server_versions as v")
    .innerJoin("servers as s", "s.active_version_id", "v.id")
    .select(["v.source", "v.bundle", "v.manifest", "v.hash", "v.compiler_version", "v.build_log", "v.created_by"])
    .where("s.slug", "=", from)
    .executeTakeFirstOrThrow();
  await db
    .insertInto("server_versions")
    .values({
      ...version,
      server_id: serverId,
      number: 1,
      source: JSON.stringify(version.source),
      manifest: JSON.stringify(version.manifest),
      build_log: JSON.stringify(version.build_log),
    })
    .execute();
}

/**
 * The configuration of a benchmark's Isola (roles runtime + control) on `port`, with its data in
 * `dir` (where the benchmark's plan is written) and a bootstrapped owner whose token it returns.
 */
export function benchEnvironment(dir: string, port: number): { env: Record<string, string>; adminToken: string } {
  const plansFile = join(dir, "plans.json");
  writeFileSync(plansFile, JSON.stringify([BENCH_PLAN]));
  const adminToken = `isola_pat_${randomBytes(24).toString("base64url")}`;
  const env = {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    ISOLA_DATA_DIR: dir,
    ISOLA_ROLES: "runtime,control",
    ISOLA_ADMIN_EMAIL: "bench@example.com",
    ISOLA_ADMIN_TOKEN: adminToken,
    ISOLA_SECRET_KEY: randomBytes(32).toString("base64"),
    ISOLA_PLANS_FILE: plansFile,
  };
  return { env, adminToken };
}

/** `shards`: ISOLA_SANDBOX_SHARDS; unset, one per core as in production. `env`: more configuration (or other roles). */
export async function startIsolaStack(options: {
  realStores: boolean;
  shards?: string;
  env?: Record<string, string>;
}): Promise<IsolaStack> {
  const dir = mkdtempSync(join(tmpdir(), "isola-bench-"));
  const port = await freePort();
  const { env, adminToken } = benchEnvironment(dir, port);
  const parsed = parseConfig({
    ...env,
    ...(options.shards ? { ISOLA_SANDBOX_SHARDS: options.shards } : {}),
    ...options.env,
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const config = parsed.config;
  const stores = await openBenchStores(options.realStores, dir);

  // Info lines (one access line per request) are written as in production, to /dev/null.
  const warnings: string[] = [];
  const logger = pino(
    { level: "info" },
    pino.multistream([
      { level: "info", stream: pino.destination({ dest: "/dev/null", sync: false }) },
      { level: "warn", stream: { write: (line: string) => void warnings.push(line) } },
    ]),
  );
  const issuer = await localIssuer(`${config.publicUrl}/oauth`);
  const composition = await composeRoles(config, stores, logger);
  const app = await buildApp({
    stores,
    logger,
    plugins: [issuer.plugin, ...composition.plugins],
    readiness: composition.readiness,
  });
  await app.listen({ port, host: "127.0.0.1" });

  async function api(method: "GET" | "POST", url: string, body?: unknown) {
    const response = await app.inject({
      method,
      url: `/api/v1/${url}`,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json();
  }
  const create = (slug: string, authMode: AuthMode) => api("POST", "servers", { slug, name: slug, authMode });

  return {
    origin: config.publicUrl,
    app,
    db: stores.db,
    adminToken,
    warnings,
    async deployHello(slug, authMode) {
      await create(slug, authMode);
      const version = await api("POST", `servers/${slug}/versions`, { source: HELLO });
      await api("POST", `servers/${slug}/deploy`, { version: version.number });
    },
    async deployCopy(slug, authMode, from) {
      const server = await create(slug, authMode);
      await copyActiveVersion(stores.db, from, server.id);
      await api("POST", `servers/${slug}/deploy`, { version: 1 });
    },
    async createApiKey(slug) {
      return (await api("POST", `servers/${slug}/keys`, { name: "bench" })).key;
    },
    async mintToken(slug) {
      const grant = await storeGrant(stores.db, { accountId: "bench-user", clientId: "isola-bench" });
      return issuer.mint(`${config.publicUrl}/${slug}/mcp`, "bench-user", grant);
    },
    async close() {
      await app.close();
      await composition.close();
      const usage = await sql<{ calls: string | null }>`select sum(calls) as calls from usage_minutely`.execute(
        stores.db,
      );
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
      return { usageCalls: Number(usage.rows[0]?.calls ?? 0) };
    },
  };
}
