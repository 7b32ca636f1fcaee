import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HELLO_SOURCE } from "./api-harness.ts";
import { Balancer } from "./balancer.ts";
import { type IsolaProcess, spawnIsola } from "./isola-process.ts";
import { type Answer, initializeRequest, send } from "./mcp.ts";
import { createTestDatabase } from "./postgres.ts";
import { freePort, RedisServer } from "./redis-server.ts";

// Several `isola start` processes on loopback ports sharing one PostgreSQL (a fresh database on
// the server DATABASE_URL names: the CI one) and one Redis, behind a round-robin test balancer
// whose URL is every node's PUBLIC_URL. The Redis is a redis-server of the fleet's own (the same
// binary as the CI one) so that drills may restart it and so that fleets in parallel test files
// do not hear each other's bus messages.

export interface Plan {
  id: string;
  name: string;
  maxServers: number;
  callsPerMonth: number;
  memoryMb: number;
  rateLimitPerMinute: number;
}

export const ROOMY_PLAN: Plan = {
  id: "default",
  name: "Roomy",
  maxServers: 2000,
  callsPerMonth: 10_000_000,
  memoryMb: 64,
  rateLimitPerMinute: 1_000_000,
};

export interface FleetOptions {
  /** Nodes to start (3). */
  size?: number;
  plans?: Plan[];
  /** Added to every node's environment (ISOLA_ROLES, ISOLA_SANDBOX_SHARDS, ...). */
  env?: Record<string, string>;
  /** Another PostgreSQL server to create the fleet's database on (default: DATABASE_URL's). */
  databaseAdminUrl?: string;
  /** How long a node may take to listen (60 s: three nodes starting at once on a busy 2-core CI machine take 30). */
  startTimeoutMs?: number;
}

export interface FleetNode {
  name: string;
  index: number;
  process: IsolaProcess;
  url: string;
}

/** The JSON answer of a control API call. */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
export type ControlAnswer = { status: number; body: any };

/** Where a request goes: a node, or the balancer (any node). */
export type Target = FleetNode | "any";

export const METRICS_TOKEN = randomBytes(24).toString("hex");

export class Fleet {
  readonly nodes: FleetNode[] = [];
  readonly adminToken = `isola_pat_${randomBytes(24).toString("base64url")}`;
  readonly balancer: Balancer;
  readonly redis: RedisServer;
  readonly databaseUrl: string;
  readonly #dropDatabase: () => Promise<void>;
  readonly #dir: string;
  readonly #env: Record<string, string>;
  #startTimeoutMs = 60_000;

  private constructor(
    balancer: Balancer,
    redis: RedisServer,
    database: { url: string; drop(): Promise<void> },
    dir: string,
    env: Record<string, string>,
  ) {
    this.balancer = balancer;
    this.redis = redis;
    this.databaseUrl = database.url;
    this.#dropDatabase = database.drop;
    this.#dir = dir;
    this.#env = env;
  }

  static async start(options: FleetOptions = {}): Promise<Fleet> {
    const adminUrl = options.databaseAdminUrl ?? process.env.DATABASE_URL;
    if (!adminUrl) {
      throw new Error(
        "a fleet needs a shared PostgreSQL: set DATABASE_URL to a server the test may create a database on (.ci/run starts one)",
      );
    }
    const dir = mkdtempSync(join(tmpdir(), "isola-fleet-"));
    const [redis, database, balancer] = await Promise.all([
      RedisServer.start(),
      createTestDatabase(adminUrl),
      freePort().then((port) => Balancer.listen(port)),
    ]);
    const plans = join(dir, "plans.json");
    writeFileSync(plans, JSON.stringify(options.plans ?? [ROOMY_PLAN]));
    const fleet = new Fleet(balancer, redis, database, dir, {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      PUBLIC_URL: balancer.url,
      ISOLA_ROLES: "runtime,control",
      ISOLA_SANDBOX_SHARDS: "1",
      ISOLA_ADMIN_EMAIL: "owner@example.com",
      ISOLA_SECRET_KEY: randomBytes(32).toString("base64"),
      ISOLA_PLANS_FILE: plans,
      ISOLA_METRICS_TOKEN: METRICS_TOKEN,
      ...options.env,
    });
    fleet.#startTimeoutMs = options.startTimeoutMs ?? fleet.#startTimeoutMs;
    try {
      // All at once, as a platform starts them: migrations and the owner's bootstrap must not race.
      const size = options.size ?? 3;
      await Promise.all(Array.from({ length: size }, (_, index) => fleet.#spawn(index)));
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  }

  async #spawn(index: number): Promise<FleetNode> {
    const name = String.fromCharCode(97 + index);
    const process = await spawnIsola(
      { ...this.#env, ISOLA_ADMIN_TOKEN: this.adminToken, ISOLA_DATA_DIR: join(this.#dir, name) },
      undefined,
      this.#startTimeoutMs,
    );
    const node = { name, index, process, url: process.url };
    this.nodes[index] = node;
    this.balancer.setUpstream(index, node.url);
    return node;
  }

  node(name: string): FleetNode {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name} in this fleet`);
    return node;
  }

  urlOf(target: Target): string {
    return target === "any" ? this.balancer.url : target.url;
  }

  /** Kills a node (SIGKILL: no drain, as a crash or an OOM kill) and takes it out of the balancer. */
  async kill(node: FleetNode, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    this.balancer.markDown(node.index);
    if (node.process.child.exitCode === null && node.process.child.signalCode === null) {
      node.process.child.kill(signal);
      await node.process.exited;
    }
  }

  /** Starts a stopped node again with the same configuration, on a new port, and puts it back in the balancer. */
  async restart(node: FleetNode): Promise<FleetNode> {
    await this.kill(node, "SIGTERM");
    return this.#spawn(node.index);
  }

  /** The control API as the bootstrapped owner. */
  async control(target: Target, method: string, path: string, body?: unknown): Promise<ControlAnswer> {
    const response = await fetch(`${this.urlOf(target)}/api/v1/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Creates (when new) and deploys a server from source through `target`; returns the deployed version. */
  async deploy(slug: string, source = HELLO_SOURCE, target: Target = "any"): Promise<number> {
    const existing = await this.control(target, "GET", `servers/${slug}`);
    if (existing.status === 404) {
      const created = await this.control(target, "POST", "servers", { slug, name: slug, authMode: "api_key" });
      if (created.status !== 201)
        throw new Error(`creating ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
    }
    const version = await this.control(target, "POST", `servers/${slug}/versions`, { source });
    if (version.status !== 201)
      throw new Error(`version of ${slug}: ${version.status} ${JSON.stringify(version.body)}`);
    const deployed = await this.control(target, "POST", `servers/${slug}/deploy`, { version: version.body.number });
    if (deployed.status !== 200)
      throw new Error(`deploying ${slug}: ${deployed.status} ${JSON.stringify(deployed.body)}`);
    return version.body.number as number;
  }

  /** A new API key of a server. */
  async createKey(
    slug: string,
    name: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; key: string }> {
    const created = await this.control("any", "POST", `servers/${slug}/keys`, { name, ...extra });
    if (created.status !== 201) throw new Error(`key for ${slug}: ${created.status} ${JSON.stringify(created.body)}`);
    return created.body;
  }

  /** An MCP session begun through `target`, whose requests may then go to any node. */
  async session(slug: string, key: string, target: Target = "any"): Promise<FleetSession> {
    const initialized = await send(`${this.urlOf(target)}/${slug}/mcp`, {
      body: initializeRequest(),
      headers: { authorization: `Bearer ${key}` },
    });
    if (initialized.status !== 200) throw new Error(`initialize ${slug}: ${initialized.status} ${initialized.text}`);
    const headers = {
      authorization: `Bearer ${key}`,
      "mcp-session-id": initialized.headers["mcp-session-id"] as string,
      "mcp-protocol-version": initialized.json.result.protocolVersion as string,
    };
    await send(`${this.urlOf(target)}/${slug}/mcp`, {
      body: { jsonrpc: "2.0", method: "notifications/initialized" },
      headers,
    });
    let id = 1;
    const post = (on: Target, method: string, params?: unknown): Promise<Answer> =>
      send(`${this.urlOf(on)}/${slug}/mcp`, {
        body: { jsonrpc: "2.0", id: ++id, method, ...(params === undefined ? {} : { params }) },
        headers,
      });
    return { id: headers["mcp-session-id"], headers, post };
  }

  /**
   * A fetch for an MCP client (the SDK's `fetch` option) that sends each request to the next node
   * in turn, whatever URL it was given: successive requests of one session always change node, as
   * behind a balancer without affinity. `routed` records, per request, the node and what it carried.
   */
  rotatingFetch(routed: Routed[] = [], nodes: FleetNode[] = this.nodes): typeof fetch {
    let next = 0;
    return async (input, init = {}) => {
      const node = nodes[next++ % nodes.length] as FleetNode;
      const url = new URL(input instanceof Request ? input.url : String(input));
      const target = `${node.url}${url.pathname}${url.search}`;
      const body = typeof init.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
      const carried = body ? String(body.method ?? `response ${String(body.id)}`) : (init.method ?? "GET");
      const response = await fetch(target, init);
      routed.push({ node: node.name, carried, status: response.status });
      return response;
    };
  }

  /** A node's Prometheus metrics text. */
  async metrics(node: FleetNode): Promise<string> {
    const response = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    return response.text();
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        if (node.process.child.exitCode !== null || node.process.child.signalCode !== null) return;
        node.process.child.kill("SIGTERM");
        await node.process.exited;
      }),
    );
    await this.balancer.close();
    await this.#dropDatabase().catch(() => undefined);
    await this.redis.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** One request a rotating fetch sent: to which node, what it carried (a JSON-RPC method, `response <id>`, GET, DELETE). */
export interface Routed {
  node: string;
  carried: string;
  status: number;
}

export interface FleetSession {
  id: string;
  headers: Record<string, string>;
  post(on: Target, method: string, params?: unknown): Promise<Answer>;
}
