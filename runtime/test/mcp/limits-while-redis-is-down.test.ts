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
import { eventually } from "../support/wait.ts";

// An `isola start` process on a Redis of this test's own, which the test kills and starts
// again: the limits must go on per process, say so, and come back. The database is a fresh one
// on DATABASE_URL's server when set (quicker to start), else the embedded one.

const PLAN = { id: "default", name: "Small", maxServers: 10, callsPerMonth: 3, memoryMb: 64, rateLimitPerMinute: 4 };
const ADMIN_TOKEN = `isola_pat_${randomBytes(24).toString("base64url")}`;

const dir = mkdtempSync(join(tmpdir(), "isola-redis-down-"));
let redis: RedisServer | undefined;
let node: IsolaProcess | undefined;
let database: { url: string; drop(): Promise<void> } | undefined;

beforeAll(async () => {
  const adminUrl = process.env.DATABASE_URL;
  [redis, database] = await Promise.all([RedisServer.start(), adminUrl ? createTestDatabase(adminUrl) : undefined]);
  const plans = join(dir, "plans.json");
  writeFileSync(plans, JSON.stringify([PLAN]));
  node = await spawnIsola({
    REDIS_URL: redis.url,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ISOLA_DATA_DIR: join(dir, "data"),
    ISOLA_ROLES: "runtime,control",
    ISOLA_SANDBOX_SHARDS: "1",
    ISOLA_ADMIN_EMAIL: "owner@example.com",
    ISOLA_ADMIN_TOKEN: ADMIN_TOKEN,
    ISOLA_SECRET_KEY: randomBytes(32).toString("base64"),
    ISOLA_PLANS_FILE: plans,
  });
  const control = (path: string, body: unknown) =>
    fetch(`${node?.url}/api/v1/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { number: number } }));
  expect((await control("servers", { slug: "steady", name: "steady", authMode: "public" })).status).toBe(201);
  const version = await control("servers/steady/versions", { source: HELLO_SOURCE });
  expect(version.status).toBe(201);
  expect((await control("servers/steady/deploy", { version: version.body.number })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  if (node && node.child.exitCode === null) {
    node.child.kill("SIGTERM");
    await node.exited;
  }
  await database?.drop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const endpoint = () => `${node?.url}/steady/mcp`;

async function readyz() {
  const response = await fetch(`${node?.url}/readyz`);
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  return { status: response.status, body: (await response.json()) as any };
}

async function session() {
  const initialized = await send(endpoint(), { body: initializeRequest() });
  expect(initialized.status, initialized.text).toBe(200);
  const headers = {
    "mcp-session-id": initialized.headers["mcp-session-id"] as string,
    "mcp-protocol-version": initialized.json.result.protocolVersion as string,
  };
  let id = 1;
  const post = (method: string, params?: unknown): Promise<Answer> =>
    send(endpoint(), {
      body: { jsonrpc: "2.0", id: ++id, method, ...(params === undefined ? {} : { params }) },
      headers,
    });
  return {
    headers,
    ping: () => post("ping"),
    list: () => post("tools/list"),
    hello: (name: string) => post("tools/call", { name: "hello", arguments: { name } }),
  };
}

describe("limits while Redis is down", () => {
  it("serves calls under local limits, reports them degraded since the outage, and shares them again once Redis is back", async () => {
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({ limits: { degraded: false, mode: "shared" } });

    // One tool call counted in Redis: the process remembers the org has used 1 of 3.
    const before = await session();
    expect((await before.hello("before")).status).toBe(200);

    await redis?.kill();
    const killedAt = Date.now();
    // A session kept in Redis is unknown while it is away: the client starts a new one.
    expect((await before.ping()).status).toBe(404);

    // Calls are served, by limits this process keeps: a fresh bucket of 4 calls (initialize
    // took one), and the quota counted on from the 1 call it saw before the outage.
    const during = await session();
    expect((await during.hello("during")).json.result.content[0].text).toBe("Hello, during!");
    expect((await during.hello("again")).status).toBe(200);
    const overQuota = await during.hello("over");
    expect(overQuota.status).toBe(429);
    expect(overQuota.json.error.message).toMatch(/^monthly quota exceeded: the organisation of steady has used the 3/);
    const overRate = await during.ping();
    expect(overRate.status).toBe(429);
    expect(overRate.json.error.message).toMatch(
      /^rate limit exceeded: anonymous caller at 127\.0\.0\.1 may make 4 calls a minute to steady/,
    );
    expect(Number(overRate.headers["retry-after"])).toBeGreaterThanOrEqual(1);

    const degraded = await readyz();
    expect(degraded.status).toBe(503);
    expect(degraded.body).toMatchObject({
      status: "unavailable",
      checks: { bus: { ok: false, kind: "redis" } },
      details: {
        limits: {
          degraded: true,
          mode: "local",
          since: expect.any(String),
          reason: expect.stringMatching(/^limits are kept by each node on its own: Redis is unavailable/),
        },
      },
    });
    const since = Date.parse(degraded.body.details.limits.since);
    expect(since).toBeGreaterThanOrEqual(killedAt - 1000);
    expect(since).toBeLessThanOrEqual(Date.now());

    await redis?.start();
    const recovered = await eventually(async () => {
      const answer = await readyz();
      return answer.status === 200 && !answer.body.details.limits.degraded ? answer : undefined;
    }, 15_000);
    expect(recovered.body.details).toEqual({ limits: { degraded: false, mode: "shared" } });

    // The restarted Redis started empty; the 3 tool calls counted during the outage were handed
    // over to it, so the quota still refuses. The session begun during the outage goes on.
    const after = await during.hello("after");
    expect(after.status).toBe(429);
    expect(after.json.error.message).toMatch(/^monthly quota exceeded/);
    expect((await during.list()).status).toBe(200);
  });
});
