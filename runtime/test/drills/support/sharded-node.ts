// One real `isola start` process with several sandbox shards, for drills that break shards: it
// deploys tenants onto chosen shards (the supervisor routes a server by its id), tells which
// process is a shard's current one (from the supervisor's own `shard-start` events, logged at
// debug), and reads /readyz and /metrics as an operator would.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardFor } from "@isola/sandbox";
import { type IsolaProcess, spawnIsola } from "../../support/isola-process.ts";
import { createTestDatabase } from "../../support/postgres.ts";

/** High enough that no drill meets a rate limit or a quota: drills measure failures, not refusals. */
const DRILL_PLAN = {
  id: "default",
  name: "Drill",
  maxServers: 100,
  callsPerMonth: 10_000_000,
  memoryMb: 64,
  rateLimitPerMinute: 1_000_000,
};

export interface Tenant {
  slug: string;
  id: string;
  /** The supervisor's slot for this server. */
  shard: number;
  mcpUrl: string;
}

export interface SupervisorLogEvent {
  type: "shard-start" | "shard-exit" | "shard-recycle" | "quarantine";
  slot?: number;
  pid?: number;
  reason?: string;
  signal?: string | null;
  lostCalls?: number;
  serverId?: string;
}

export interface ShardedNode {
  process: IsolaProcess;
  url: string;
  shards: number;
  /** The control API as the bootstrapped owner. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  control(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Deploys `source` to `perShard` new servers on each shard (slugs `<prefix>-<n>`). */
  deployTenants(prefix: string, source: string, perShard: number): Promise<Tenant[]>;
  /** Deploys `source` to one new server that lands on `shard`. */
  deployOnShard(slug: string, source: string, shard: number): Promise<Tenant>;
  /** The supervisor's events so far, in order. */
  events(): SupervisorLogEvent[];
  /** The pid of a shard's current process; checked to be a live child of the node. */
  shardPid(shard: number): number;
  readyz(): Promise<{ status: number; body: unknown }>;
  /** One sample of a Prometheus metric (its labels matched exactly), or 0 when absent. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startShardedNode(shards: number, env: Record<string, string> = {}): Promise<ShardedNode> {
  const dir = mkdtempSync(join(tmpdir(), "isola-drill-"));
  const adminToken = `isola_pat_${randomBytes(24).toString("base64url")}`;
  const metricsToken = randomBytes(16).toString("hex");
  writeFileSync(join(dir, "plans.json"), JSON.stringify([DRILL_PLAN]));
  // PostgreSQL when the CI gives one (a new database opens in ~1 s), else the embedded one.
  const database = process.env.DATABASE_URL ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
  let node: IsolaProcess;
  try {
    node = await spawnIsola({
      ...(database ? { DATABASE_URL: database.url } : {}),
      ISOLA_DATA_DIR: join(dir, "data"),
      ISOLA_ROLES: "runtime,control",
      ISOLA_SANDBOX_SHARDS: String(shards),
      ISOLA_ADMIN_EMAIL: "owner@example.com",
      ISOLA_ADMIN_TOKEN: adminToken,
      ISOLA_SECRET_KEY: randomBytes(32).toString("base64"),
      ISOLA_PLANS_FILE: join(dir, "plans.json"),
      ISOLA_METRICS_TOKEN: metricsToken,
      // The supervisor logs each shard's start (slot and pid) at debug.
      LOG_LEVEL: "debug",
      ...env,
    });
  } catch (error) {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = node.url;

  const control = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/api/v1/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  const expectStatus = (what: string, answer: { status: number; body: unknown }, status: number) => {
    if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  };

  /** Creates servers until one lands on `shard`; the others stay undeployed. */
  const createOnShard = async (slug: string, shard: number): Promise<{ slug: string; id: string }> => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const candidate = attempt === 0 ? slug : `${slug}-x${attempt}`;
      const created = await control("POST", "servers", { slug: candidate, name: candidate, authMode: "public" });
      expectStatus("create", created, 201);
      if (shardFor(created.body.id, shards) === shard) return { slug: candidate, id: created.body.id };
      expectStatus("delete", await control("DELETE", `servers/${candidate}`), 204);
    }
    throw new Error(`no server id landed on shard ${shard} in 40 tries`);
  };

  const deployOnShard = async (slug: string, source: string, shard: number): Promise<Tenant> => {
    const server = await createOnShard(slug, shard);
    const version = await control("POST", `servers/${server.slug}/versions`, { source });
    expectStatus("version", version, 201);
    expectStatus(
      "deploy",
      await control("POST", `servers/${server.slug}/deploy`, { version: version.body.number }),
      200,
    );
    return { ...server, shard, mcpUrl: `${url}/${server.slug}/mcp` };
  };

  const events = (): SupervisorLogEvent[] =>
    node.lines.flatMap((line) => {
      const entry = JSON.parse(line) as { msg?: string; event?: SupervisorLogEvent };
      return entry.msg?.startsWith("sandbox ") && entry.event ? [entry.event] : [];
    });

  return {
    process: node,
    url,
    shards,
    control,
    deployOnShard,
    async deployTenants(prefix, source, perShard) {
      const tenants: Tenant[] = [];
      // One at a time: each deploy compiles, and the machine's cores are the drill's too.
      for (let n = 0; n < perShard; n++) {
        for (let shard = 0; shard < shards; shard++) {
          tenants.push(await deployOnShard(`${prefix}-${shard}-${n}`, source, shard));
        }
      }
      return tenants;
    },
    events,
    shardPid(shard) {
      const started = events().filter((event) => event.type === "shard-start" && event.slot === shard);
      const pid = started.at(-1)?.pid;
      if (pid === undefined) throw new Error(`no shard-start logged for shard ${shard}`);
      // The fourth field of /proc/<pid>/stat is the parent's pid (the command may hold spaces: read after ')').
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent !== node.child.pid) throw new Error(`shard ${shard}'s pid ${pid} is not a child of the node`);
      return pid;
    },
    async readyz() {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text };
    },
    async metric(name, labels = {}) {
      const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
      const wanted = Object.entries(labels)
        .map(([key, value]) => `${key}="${value}"`)
        .sort()
        .join(",");
      for (const line of (await response.text()).split("\n")) {
        const match = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const have = (match[2] ?? "").split(",").filter(Boolean).sort().join(",");
        if (have === wanted) return Number(match[3]);
      }
      return 0;
    },
    async stop() {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        node.child.kill("SIGTERM");
        await node.exited;
      }
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
