import { afterEach, describe, expect, it } from "vitest";
import { bundleServer } from "../src/compiler/bundle.ts";
import { IsolatePool } from "../src/host/isolate-pool.ts";
import { TenantIsolate } from "../src/host/tenant-isolate.ts";

const SOURCE = `import { defineServer, tool, z } from "isola";
defineServer({ name: "p", tools: {
  hold: tool({ description: "d", input: z.object({ ms: z.number() }), run: async ({ ms }) => { await new Promise((r) => setTimeout(r, ms)); return "held"; } }),
} });`;
const options = { env: {}, user: null, egress: { allowedHosts: [] } };

let bundle: { code: string; hash: string };
let created = 0;
const create = async () => {
  bundle ??= await bundleServer({ "index.ts": SOURCE }, "index.ts").then((b) => {
    if (!b.ok) throw new Error("bundle failed");
    return b;
  });
  created++;
  return TenantIsolate.create(bundle);
};

let pool: IsolatePool;
afterEach(() => {
  pool?.close();
  created = 0;
});

describe("IsolatePool", () => {
  it("keeps an isolate warm per key and reuses it", async () => {
    pool = new IsolatePool();
    const first = await pool.acquire("a", create);
    expect(await pool.acquire("a", create)).toBe(first);
    expect(created).toBe(1);
  });

  it("shares one load between concurrent first calls for a key", async () => {
    pool = new IsolatePool();
    const [one, two, three] = await Promise.all([
      pool.acquire("a", create),
      pool.acquire("a", create),
      pool.acquire("a", create),
    ]);
    expect(one).toBe(two);
    expect(two).toBe(three);
    expect(created).toBe(1);
  });

  it("evicts the least recently used isolate past the count", async () => {
    pool = new IsolatePool({ maxIsolates: 2 });
    const take = async (key: string) => {
      const isolate = await pool.acquire(key, create);
      pool.release(isolate);
      return isolate;
    };
    const a = await take("a");
    const b = await take("b");
    await take("a"); // a is now the most recent
    await take("c");
    expect(pool.size).toBe(2);
    expect(b.disposed).toBe(true);
    expect(a.disposed).toBe(false);
  });

  it("evicts to stay within the memory budget, never an isolate that is leased or running a call", async () => {
    pool = new IsolatePool({ maxHeapBytes: 1 });
    const busy = await pool.acquire("busy", create);
    const running = busy.callTool("hold", { ms: 300 }, options);
    const leased = await pool.acquire("leased", create);
    expect(busy.disposed).toBe(false);
    expect(leased.disposed).toBe(false);
    // Released and idle, it is the one over the 1-byte budget that can go.
    pool.release(leased);
    const third = await pool.acquire("third", create);
    expect(leased.disposed).toBe(true);
    expect(busy.disposed).toBe(false);
    expect(third.disposed).toBe(false);
    expect(await running).toEqual({ content: [{ type: "text", text: "held" }] });
  });

  it("releases isolates idle for longer than the idle time", async () => {
    pool = new IsolatePool({ idleMs: 1000 });
    const old = await pool.acquire("old", create);
    const fresh = await pool.acquire("fresh", create);
    pool.release(old);
    pool.release(fresh);
    old.lastUsed = Date.now() - 2000;
    pool.sweep();
    expect(old.disposed).toBe(true);
    expect(fresh.disposed).toBe(false);
    expect(pool.size).toBe(1);
  });

  it("replaces an isolate that was disposed (a limit reset it) on the next acquire", async () => {
    pool = new IsolatePool();
    const first = await pool.acquire("a", create);
    first.dispose();
    const second = await pool.acquire("a", create);
    expect(second).not.toBe(first);
    expect(second.disposed).toBe(false);
  });

  it("evicts a replaced version's isolates once they are idle", async () => {
    pool = new IsolatePool();
    const v1 = await pool.acquire("server-1#hash-a", create);
    const other = await pool.acquire("server-2#hash-b", create);
    pool.release(v1);
    pool.release(other);
    pool.evict("server-1#");
    expect(v1.disposed).toBe(true);
    expect(other.disposed).toBe(false);
  });
});
