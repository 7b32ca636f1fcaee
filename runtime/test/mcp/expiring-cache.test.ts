import { describe, expect, it } from "vitest";
import { ExpiringCache } from "../../src/mcp/expiring-cache.ts";

const DOWN = new Error("connect ECONNREFUSED (the database is restarting)");

/** A cache on a clock the test moves, and a loader that counts its calls and can fail. */
function setup(options: { staleForMs?: number; retryMs?: number; maxEntries?: number } = {}) {
  let now = 0;
  let loads = 0;
  let failing = false;
  let next = "v1";
  const cache = new ExpiringCache<string>({ maxEntries: options.maxEntries ?? 10, ...options, now: () => now });
  const get = (key = "k") =>
    cache.get(
      key,
      async () => {
        loads++;
        if (failing) throw DOWN;
        return next;
      },
      () => 100,
    );
  return {
    cache,
    get,
    advance: (ms: number) => {
      now += ms;
    },
    fail: (value: boolean) => {
      failing = value;
    },
    serve: (value: string) => {
      next = value;
    },
    loads: () => loads,
  };
}

describe("ExpiringCache", () => {
  it("loads once and answers from memory until the value expires, then loads again", async () => {
    const t = setup();
    expect(await t.get()).toBe("v1");
    t.serve("v2");
    t.advance(99);
    expect(await t.get()).toBe("v1");
    expect(t.loads()).toBe(1);
    t.advance(1);
    expect(await t.get()).toBe("v2");
    expect(t.loads()).toBe(2);
  });

  it.each([
    { case: "just expired", after: 100, answer: "v1" },
    { case: "expired within the stale window", after: 100 + 999, answer: "v1" },
    { case: "past the stale window", after: 100 + 1000, answer: DOWN },
  ])("when reloading fails, $case: $answer", async ({ after, answer }) => {
    const t = setup({ staleForMs: 1000 });
    await t.get();
    t.fail(true);
    t.advance(after);
    if (answer instanceof Error) await expect(t.get()).rejects.toBe(answer);
    else expect(await t.get()).toBe(answer);
  });

  it("passes a failed load on when it has nothing to fall back on", async () => {
    const t = setup();
    t.fail(true);
    await expect(t.get()).rejects.toBe(DOWN);
  });

  it("serving a stale value, tries the store again only every retryMs, and takes the new value once it answers", async () => {
    const t = setup({ retryMs: 50 });
    await t.get();
    t.fail(true);
    t.advance(100);
    await t.get();
    await t.get();
    expect(t.loads()).toBe(2);
    t.advance(50);
    await t.get();
    expect(t.loads()).toBe(3);
    t.fail(false);
    t.serve("v2");
    t.advance(50);
    expect(await t.get()).toBe("v2");
  });

  it("forgets entries on delete and deleteWhere, and stays bounded", async () => {
    const t = setup({ maxEntries: 2 });
    await t.get("a");
    await t.get("b");
    t.cache.deleteWhere((key) => key === "a");
    await t.get("a");
    expect(t.loads()).toBe(3);
    // A third key over the bound starts afresh rather than growing without end.
    await t.get("c");
    await t.get("b");
    expect(t.loads()).toBe(5);
    t.cache.delete("c");
    await t.get("c");
    expect(t.loads()).toBe(6);
  });
});
