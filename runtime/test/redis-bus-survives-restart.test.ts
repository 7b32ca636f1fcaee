import { BusUnavailableError } from "@isola/schema";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthRoutes } from "../src/http/health.ts";
import { RedisBus } from "../src/stores/redis-bus.ts";
import { databaseBackends } from "./support/backends.ts";
import { freePort, RedisServer } from "./support/redis-server.ts";
import { eventually } from "./support/wait.ts";

const [embeddedDatabase] = databaseBackends() as [ReturnType<typeof databaseBackends>[number]];

describe("connecting to a Redis that is not there", () => {
  it("rejects with BusUnavailableError naming the cause", async () => {
    const port = await freePort();
    const connecting = RedisBus.connect({ url: `redis://127.0.0.1:${port}` });
    await expect(connecting).rejects.toBeInstanceOf(BusUnavailableError);
    await expect(connecting).rejects.toThrow(/cannot connect to Redis: .*ECONNREFUSED/);
  });
});

// Part of the Redis run (REDIS_URL set, as in CI). It kills and restarts a redis-server
// of its own, so that the shared one keeps serving the other suites.
if (process.env.REDIS_URL)
  describe("the Redis bus across a Redis restart", () => {
    let server: RedisServer;
    let bus: RedisBus;
    const received: string[] = [];

    beforeAll(async () => {
      server = await RedisServer.start();
      bus = await RedisBus.connect({ url: server.url, prefix: "restart:" });
      await bus.subscribe("deploys", (message) => received.push(message));
    });
    afterAll(async () => {
      await bus?.close();
      await server?.stop();
    });

    it("works, fails fast while Redis is down, and recovers on its own with subscriptions intact", async () => {
      await bus.publish("deploys", "before");
      await bus.set("session", "s1", { ttlMs: 60_000 });
      expect(await bus.increment("calls", { ttlMs: 60_000 })).toBe(1);
      await eventually(() => (received.includes("before") ? true : undefined));

      // A steady workload across the restart: every failure must be a BusUnavailableError.
      const failures: unknown[] = [];
      let successes = 0;
      let running = true;
      const workload = (async () => {
        while (running) {
          await bus.increment("workload", { ttlMs: 60_000 }).then(
            () => successes++,
            (error: unknown) => failures.push(error),
          );
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();

      await server.kill();
      for (const operation of [
        () => bus.ping(),
        () => bus.get("session"),
        () => bus.publish("deploys", "lost"),
        () => bus.takeTokens("b", { capacity: 1, refillPerSecond: 1 }),
        () => bus.append("log", "x", { maxLength: 10, ttlMs: 1000 }),
        () => bus.subscribe("new-channel", () => {}),
      ]) {
        const started = Date.now();
        await expect(operation()).rejects.toBeInstanceOf(BusUnavailableError);
        expect(Date.now() - started).toBeLessThan(1000);
      }

      // The workload must meet the outage too (on a busy machine its next turn may come late).
      await eventually(() => (failures.length > 0 ? true : undefined));
      await server.start();
      await eventually(() => bus.ping().then(() => true), 10_000);
      const successesAfterRestart = successes;
      await eventually(() => (successes > successesAfterRestart + 3 ? true : undefined));
      running = false;
      await workload;

      expect(failures.length).toBeGreaterThan(0);
      expect(failures.every((error) => error instanceof BusUnavailableError)).toBe(true);
      // Without persistence the restarted Redis is empty: short-lived state is gone, by design.
      expect(await bus.get("session")).toBeUndefined();
      expect(await bus.increment("calls", { ttlMs: 60_000 })).toBe(1);
      // The subscription made before the restart still receives.
      await bus.publish("deploys", "after");
      await eventually(() => (received.includes("after") ? true : undefined));
      expect(received).toEqual(["before", "after"]);
    });

    it("makes /readyz answer 503 with the reason while Redis is down, and 200 once it is back", async () => {
      const database = await embeddedDatabase.open();
      const app = Fastify();
      await app.register(healthRoutes, {
        stores: { db: database.db, dbKind: database.kind, bus },
        checkTimeoutMs: 1000,
      });
      try {
        expect((await app.inject("/readyz")).statusCode).toBe(200);
        await server.kill();
        const down = await app.inject("/readyz");
        expect(down.statusCode).toBe(503);
        expect(down.json()).toMatchObject({
          status: "unavailable",
          checks: {
            database: { ok: true, kind: "pglite" },
            bus: { ok: false, kind: "redis", error: expect.stringMatching(/Redis is unavailable/) },
          },
        });
        await server.start();
        await eventually(async () => ((await app.inject("/readyz")).statusCode === 200 ? true : undefined), 10_000);
      } finally {
        await app.close();
        await database.close();
      }
    });
  });
