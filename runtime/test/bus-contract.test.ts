import { type Bus, BusError } from "@isola/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { busBackends } from "./support/backends.ts";
import { eventually, sleep } from "./support/wait.ts";

// One contract, every implementation: the in-process bus always, Redis when REDIS_URL is set.
describe.each(busBackends())("the $name bus", (backend) => {
  let bus: Bus;
  const handlerErrors: string[] = [];

  beforeEach(async () => {
    handlerErrors.length = 0;
    bus = await backend.open({ onHandlerError: (_error, channel) => handlerErrors.push(channel) });
  });
  afterEach(async () => {
    await bus.close();
  });

  /** Collects what a subscription receives. */
  async function listen(channel: string): Promise<{ received: string[]; stop: () => Promise<void> }> {
    const received: string[] = [];
    const stop = await bus.subscribe(channel, (message) => received.push(message));
    return { received, stop };
  }

  describe("publish and subscribe", () => {
    it("delivers each message to every subscriber of its channel, in order, and to no other channel", async () => {
      const a = await listen("deploys");
      const b = await listen("deploys");
      const other = await listen("other");
      for (const n of [1, 2, 3]) await bus.publish("deploys", `v${n}`);
      await eventually(() => (a.received.length === 3 && b.received.length === 3 ? true : undefined));
      expect(a.received).toEqual(["v1", "v2", "v3"]);
      expect(b.received).toEqual(["v1", "v2", "v3"]);
      await sleep(50);
      expect(other.received).toEqual([]);
    });

    it("stops delivering after unsubscribe, without affecting the other subscribers", async () => {
      const a = await listen("ch");
      const b = await listen("ch");
      await a.stop();
      await bus.publish("ch", "after");
      await eventually(() => (b.received.length === 1 ? true : undefined));
      await sleep(50);
      expect(a.received).toEqual([]);
      expect(b.received).toEqual(["after"]);
    });

    it("treats the same function subscribed twice as two subscriptions", async () => {
      const received: string[] = [];
      const handler = (message: string) => received.push(message);
      const first = await bus.subscribe("dup", handler);
      await bus.subscribe("dup", handler);
      await first();
      await bus.publish("dup", "x");
      await eventually(() => (received.length === 1 ? true : undefined));
      await sleep(50);
      expect(received).toEqual(["x"]);
    });

    it("keeps delivering to others when a subscriber throws, and reports the throw", async () => {
      await bus.subscribe("faulty", () => {
        throw new Error("subscriber bug");
      });
      const healthy = await listen("faulty");
      await bus.publish("faulty", "m");
      await eventually(() => (healthy.received.length === 1 ? true : undefined));
      await eventually(() => (handlerErrors.length === 1 ? true : undefined));
      expect(handlerErrors).toEqual(["faulty"]);
    });

    it("accepts a publish with no subscribers", async () => {
      await expect(bus.publish("nobody-listens", "m")).resolves.toBeUndefined();
    });

    it("never delivers inside publish() itself", async () => {
      const events: string[] = [];
      await bus.subscribe("sync", () => events.push("delivered"));
      const publishing = bus.publish("sync", "m");
      events.push("publish returned");
      await publishing;
      await eventually(() => (events.length === 2 ? true : undefined));
      expect(events).toEqual(["publish returned", "delivered"]);
    });
  });

  describe("counters", () => {
    it("adds and returns the running total", async () => {
      expect(await bus.increment("calls", { ttlMs: 10_000 })).toBe(1);
      expect(await bus.increment("calls", { ttlMs: 10_000 })).toBe(2);
      expect(await bus.increment("calls", { by: 5, ttlMs: 10_000 })).toBe(7);
      expect(await bus.increment("calls", { by: -2, ttlMs: 10_000 })).toBe(5);
      expect(await bus.increment("other", { ttlMs: 10_000 })).toBe(1);
    });

    it("expires a TTL after creation, not after the last increment", async () => {
      await bus.increment("window", { ttlMs: 300 });
      await sleep(150);
      expect(await bus.increment("window", { ttlMs: 300 })).toBe(2);
      await sleep(250);
      expect(await bus.increment("window", { ttlMs: 300 })).toBe(1);
    });

    it.each([0, -1, 1.5, Number.NaN])("refuses ttlMs %s", async (ttlMs) => {
      await expect(bus.increment("bad", { ttlMs })).rejects.toMatchObject({ code: "BUS_INVALID_ARGUMENT" });
    });
  });

  describe("token buckets", () => {
    const bucket = { capacity: 3, refillPerSecond: 10 };

    it("allows a burst up to capacity, then refuses with the wait until the next token", async () => {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await bus.takeTokens("caller", bucket));
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
      expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
      const refused = results[3];
      expect(refused?.retryAfterMs).toBeGreaterThan(0);
      expect(refused?.retryAfterMs).toBeLessThanOrEqual(100);
    });

    it("refills over time", async () => {
      for (let i = 0; i < 3; i++) await bus.takeTokens("refill", bucket);
      expect((await bus.takeTokens("refill", bucket)).allowed).toBe(false);
      await sleep(250);
      const again = await bus.takeTokens("refill", bucket);
      expect(again.allowed).toBe(true);
      expect(again.remaining).toBeGreaterThanOrEqual(1);
    });

    it("charges the cost and keeps keys apart", async () => {
      expect(await bus.takeTokens("costly", { ...bucket, cost: 3 })).toMatchObject({ allowed: true, remaining: 0 });
      expect((await bus.takeTokens("costly", { ...bucket, cost: 2 })).allowed).toBe(false);
      expect((await bus.takeTokens("someone-else", bucket)).allowed).toBe(true);
    });

    it.each([
      { capacity: 0, refillPerSecond: 1 },
      { capacity: 1, refillPerSecond: 0 },
      { capacity: 1, refillPerSecond: 1, cost: 2 },
      { capacity: 1, refillPerSecond: 1, cost: 0 },
      { capacity: Number.POSITIVE_INFINITY, refillPerSecond: 1 },
    ])("refuses the bucket %j", async (bad) => {
      await expect(bus.takeTokens("bad", bad)).rejects.toBeInstanceOf(BusError);
    });
  });

  describe("values with a TTL", () => {
    it("stores, overwrites, deletes and reports absence as undefined", async () => {
      expect(await bus.get("k")).toBeUndefined();
      expect(await bus.set("k", "one", { ttlMs: 10_000 })).toBe(true);
      expect(await bus.get("k")).toBe("one");
      expect(await bus.set("k", "two", { ttlMs: 10_000 })).toBe(true);
      expect(await bus.get("k")).toBe("two");
      await bus.delete("k");
      expect(await bus.get("k")).toBeUndefined();
    });

    it("stores only-if-absent exactly once", async () => {
      expect(await bus.set("lock", "a", { ttlMs: 10_000, onlyIfAbsent: true })).toBe(true);
      expect(await bus.set("lock", "b", { ttlMs: 10_000, onlyIfAbsent: true })).toBe(false);
      expect(await bus.get("lock")).toBe("a");
    });

    it("forgets a value after its TTL, which frees it for only-if-absent", async () => {
      await bus.set("session", "s", { ttlMs: 150 });
      await sleep(300);
      expect(await bus.get("session")).toBeUndefined();
      expect(await bus.set("session", "t", { ttlMs: 10_000, onlyIfAbsent: true })).toBe(true);
    });

    it("keeps values byte-exact, including unicode and empty strings", async () => {
      const value = 'ünïcødé ✓ {"json":true}\n';
      await bus.set("u", value, { ttlMs: 10_000 });
      await bus.set("empty", "", { ttlMs: 10_000 });
      expect(await bus.get("u")).toBe(value);
      expect(await bus.get("empty")).toBe("");
    });
  });

  describe("capped logs", () => {
    const options = { maxLength: 5, ttlMs: 10_000 };

    it("returns increasing ids and reads entries oldest first", async () => {
      const ids = [];
      for (const line of ["a", "b", "c"]) ids.push(await bus.append("log", line, options));
      expect(new Set(ids).size).toBe(3);
      const entries = await bus.readAfter("log");
      expect(entries).toEqual([
        { id: ids[0], value: "a" },
        { id: ids[1], value: "b" },
        { id: ids[2], value: "c" },
      ]);
    });

    it("resumes after a given id, and returns nothing after the last", async () => {
      const first = await bus.append("resume", "1", options);
      const last = await bus.append("resume", "2", options);
      expect((await bus.readAfter("resume", first)).map((e) => e.value)).toEqual(["2"]);
      expect(await bus.readAfter("resume", last)).toEqual([]);
    });

    it("drops the oldest entries past maxLength", async () => {
      for (let i = 1; i <= 8; i++) await bus.append("capped", String(i), options);
      expect((await bus.readAfter("capped")).map((e) => e.value)).toEqual(["4", "5", "6", "7", "8"]);
    });

    it("honours the limit", async () => {
      for (let i = 1; i <= 4; i++) await bus.append("limited", String(i), options);
      expect((await bus.readAfter("limited", undefined, 2)).map((e) => e.value)).toEqual(["1", "2"]);
    });

    it("reads an unknown log as empty and expires a log after its TTL", async () => {
      expect(await bus.readAfter("never-written")).toEqual([]);
      await bus.append("short", "x", { maxLength: 5, ttlMs: 150 });
      await sleep(300);
      expect(await bus.readAfter("short")).toEqual([]);
    });

    it.each(["", "abc", "12", "1-2-3", "1-x", "-1-0"])("refuses the id %j", async (id) => {
      await expect(bus.readAfter("log", id)).rejects.toMatchObject({ code: "BUS_INVALID_ARGUMENT" });
    });
  });

  it("answers ping while open and refuses work once closed", async () => {
    await expect(bus.ping()).resolves.toBeUndefined();
    await bus.close();
    await expect(bus.get("k")).rejects.toThrow();
    bus = await backend.open();
  });
});
