import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELLO_SOURCE } from "../support/api-harness.ts";
import { type IsolaProcess, spawnIsola } from "../support/isola-process.ts";
import { type Answer, initializeRequest, send } from "../support/mcp.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { RedisServer } from "../support/redis-server.ts";
import { sleep } from "../support/wait.ts";

// Two `isola start` processes on one PostgreSQL (a fresh database on DATABASE_URL's server) and
// one Redis of this test's own: what one process counts, the other must see.

const PLAN = { id: "default", name: "Shared", maxServers: 10, callsPerMonth: 6, memoryMb: 64, rateLimitPerMinute: 100 };
const ADMIN_TOKEN = `isola_pat_${randomBytes(24).toString("base64url")}`;
const SECRET_KEY = randomBytes(32).toString("base64");

const dir = mkdtempSync(join(tmpdir(), "isola-two-nodes-"));
let redis: RedisServer | undefined;
let database: { url: string; drop(): Promise<void> } | undefined;
let nodes: IsolaProcess[] = [];
let a: IsolaProcess;
let b: IsolaProcess;

beforeAll(async () => {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    throw new Error(
      "two runtimes need a shared PostgreSQL: set DATABASE_URL to a server this test may create a database on (.ci/run starts one)",
    );
  }
  [redis, database] = await Promise.all([RedisServer.start(), createTestDatabase(adminUrl)]);
  const plans = join(dir, "plans.json");
  writeFileSync(plans, JSON.stringify([PLAN]));
  const env = (name: string) => ({
    DATABASE_URL: (database as { url: string }).url,
    REDIS_URL: (redis as RedisServer).url,
    ISOLA_DATA_DIR: join(dir, name),
    ISOLA_ROLES: "runtime,control",
    ISOLA_SANDBOX_SHARDS: "1",
    ISOLA_ADMIN_EMAIL: "owner@example.com",
    ISOLA_ADMIN_TOKEN: ADMIN_TOKEN,
    ISOLA_SECRET_KEY: SECRET_KEY,
    ISOLA_PLANS_FILE: plans,
  });
  const started = await Promise.allSettled([spawnIsola(env("a")), spawnIsola(env("b"))]);
  nodes = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  for (const result of started) if (result.status === "rejected") throw result.reason;
  [a, b] = nodes as [IsolaProcess, IsolaProcess];
  await deploy(a, "shared");
}, 60_000);

afterAll(async () => {
  for (const node of nodes) {
    if (node.child.exitCode !== null) continue;
    node.child.kill("SIGTERM");
    await node.exited;
  }
  await database?.drop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The control API of a node, as the bootstrapped owner. */
async function control(node: IsolaProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(`${node.url}/api/v1/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
}

async function deploy(node: IsolaProcess, slug: string): Promise<void> {
  expect((await control(node, "POST", "servers", { slug, name: slug, authMode: "api_key" })).status).toBe(201);
  const version = await control(node, "POST", `servers/${slug}/versions`, { source: HELLO_SOURCE });
  expect(version.status).toBe(201);
  expect((await control(node, "POST", `servers/${slug}/deploy`, { version: version.body.number })).status).toBe(200);
}

async function createKey(name: string, rateLimitPerMinute?: number): Promise<{ id: string; key: string }> {
  const created = await control(a, "POST", "servers/shared/keys", {
    name,
    ...(rateLimitPerMinute ? { rateLimitPerMinute } : {}),
  });
  expect(created.status).toBe(201);
  return created.body;
}

/** A session begun on `node`, usable on any node (sessions live in Redis). */
async function session(node: IsolaProcess, key: string) {
  const initialized = await send(`${node.url}/shared/mcp`, {
    body: initializeRequest(),
    headers: { authorization: `Bearer ${key}` },
  });
  expect(initialized.status, initialized.text).toBe(200);
  const headers = {
    authorization: `Bearer ${key}`,
    "mcp-session-id": initialized.headers["mcp-session-id"] as string,
    "mcp-protocol-version": initialized.json.result.protocolVersion as string,
  };
  let id = 1;
  const post = (on: IsolaProcess, method: string, params?: unknown): Promise<Answer> =>
    send(`${on.url}/shared/mcp`, {
      body: { jsonrpc: "2.0", id: ++id, method, ...(params === undefined ? {} : { params }) },
      headers,
    });
  return {
    ping: (on: IsolaProcess) => post(on, "ping"),
    list: (on: IsolaProcess) => post(on, "tools/list"),
    hello: (on: IsolaProcess, name: string) => post(on, "tools/call", { name: "hello", arguments: { name } }),
  };
}

describe("limits held across two runtime processes sharing Redis", () => {
  it("never lets calls alternated between the processes exceed one caller's bucket", async () => {
    const { key } = await createKey("alternating", 6);
    const caller = await session(a, key);
    // initialize took one call; five remain, wherever they land.
    const answers: Answer[] = [];
    for (let call = 0; call < 10; call++) answers.push(await caller.ping(call % 2 === 0 ? b : a));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    for (const refused of answers.slice(5)) {
      expect(refused.json.error.message).toMatch(
        /^rate limit exceeded: API key "alternating" may make 6 calls a minute to shared \(the key's own limit\)/,
      );
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
  });

  it("holds the org's monthly quota across both processes, and still lists tools", async () => {
    const { key } = await createKey("meter");
    const caller = await session(b, key);
    const statuses: number[] = [];
    for (let call = 0; call < PLAN.callsPerMonth + 2; call++) {
      const answer = await caller.hello(call % 2 === 0 ? a : b, `n${call}`);
      statuses.push(answer.status);
      if (answer.status === 200) expect(answer.json.result.content[0].text).toBe(`Hello, n${call}!`);
      else expect(answer.json.error.message).toMatch(/^monthly quota exceeded: the organisation of shared has used/);
    }
    expect(statuses).toEqual([...Array(PLAN.callsPerMonth).fill(200), 429, 429]);
    for (const node of [a, b]) {
      const listed = await caller.list(node);
      expect(listed.status).toBe(200);
      expect(listed.json.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["hello"]);
    }
  });

  it("stops accepting a key on process B within seconds of its revocation through process A", async () => {
    const { id, key } = await createKey("doomed");
    const caller = await session(b, key);
    // Both processes know (and cache) the key.
    expect((await caller.ping(b)).status).toBe(200);
    expect((await caller.ping(a)).status).toBe(200);

    expect((await control(a, "DELETE", `servers/shared/keys/${id}`)).status).toBe(204);
    const revokedAt = Date.now();
    let refused: Answer | undefined;
    while (!refused && Date.now() - revokedAt < 10_000) {
      const answer = await caller.ping(b);
      if (answer.status === 401) refused = answer;
      else await sleep(50);
    }
    // The revocation is announced on the Bus: well before the key cache's own 5 s expiry.
    expect(Date.now() - revokedAt).toBeLessThan(2000);
    expect(refused?.json.error.message).toBe("the API key is not valid for this server (unknown, revoked or expired)");
    expect((await caller.ping(a)).status).toBe(401);
    // A new session with it is refused too.
    const again = await send(`${b.url}/shared/mcp`, {
      body: initializeRequest(),
      headers: { authorization: `Bearer ${key}` },
    });
    expect(again.status).toBe(401);
  });
});
