import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxCall } from "../src/host/supervisor.ts";
import { type Harness, idOnShard, SHARD_WITH_DNS_STUB, serverSource, startHarness } from "./support/sandbox-harness.ts";

// Each case deploys hostile code that skipped the compiler's checks (so the run-time
// defences are what is tested), on shard 0, while a well-behaved neighbour on shard 1 is
// called every 20 ms and must answer correctly throughout. This process (the "front
// process") must come through every case.

const LIMITS = { cpuTimeMs: 500, wallTimeMs: 5000, memoryMb: 64 };
const NEIGHBOUR = serverSource({ echo: "return String(input.text);" });

let harness: Harness;
let neighbour: { id: string; hash: string };
let redirector: Server;
let redirectorPort = 0;
let caseNumber = 0;

beforeAll(async () => {
  harness = await startHarness({
    entry: SHARD_WITH_DNS_STUB,
    maxShardRssBytes: 1024 ** 3,
    heartbeatIntervalMs: 200,
    hangTimeoutMs: 5000,
    // Every case is its own server; quarantine is tested elsewhere.
    quarantine: { strikes: 1000 },
  });
  neighbour = await harness.deploy(idOnShard("neighbour", 1, 2), NEIGHBOUR);
  redirector = createServer((request, response) => {
    response.writeHead(302, { location: String(request.url).slice(1) }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", resolve));
  redirectorPort = (redirector.address() as AddressInfo).port;
});
afterAll(async () => {
  await harness?.close();
  await new Promise((resolve) => redirector?.close(resolve));
});

/** Runs `work` while the neighbour answers every 20 ms; fails if it ever answers wrongly or not at all. */
async function whileNeighbourServes<T>(work: () => Promise<T>): Promise<T> {
  let stop = false;
  let answered = 0;
  const failures: unknown[] = [];
  const loop = (async () => {
    while (!stop) {
      const text = `ping-${answered}`;
      try {
        const result = await harness.call(neighbour, "echo", { text });
        if (JSON.stringify(result) !== JSON.stringify({ content: [{ type: "text", text }] })) failures.push(result);
        answered++;
      } catch (error) {
        failures.push(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return await work();
  } finally {
    stop = true;
    await loop;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
  }
}

/** Deploys `body` as a tool on shard 0 (unchecked) and calls it once, next to the neighbour. */
async function hostile(body: string, extra: Partial<SandboxCall> = {}, prelude = ""): Promise<unknown> {
  const server = await harness.deployUnchecked(
    idOnShard(`hostile-${++caseNumber}`, 0, 2),
    serverSource({ run: body }, prelude),
  );
  return whileNeighbourServes(() =>
    harness.call(server, "run", {}, { limits: LIMITS, ...extra }).then(
      (result) => ({ result }),
      (error: { code?: string; message?: string }) => ({ error: { code: error.code, message: error.message } }),
    ),
  );
}

const isError = (pattern: RegExp) => ({
  result: { isError: true, content: [{ type: "text", text: expect.stringMatching(pattern) }] },
});
const sandboxError = (...codes: string[]) => ({
  error: { code: expect.toSatisfy((c: string) => codes.includes(c)), message: expect.any(String) },
});

describe("CPU", () => {
  it.each([
    ["an endless loop", "while (true) {}"],
    [
      "a loop after awaiting a host promise (fetch)",
      "try { await fetch('https://nowhere.example.test/'); } catch {} while (true) {}",
    ],
    ["a loop after a timer", "await new Promise((r) => setTimeout(r, 10)); while (true) {}"],
    ["a loop in a microtask", "await null; for (;;) {}"],
    [
      "CPU spread over many short timer callbacks",
      "for (;;) { await new Promise((r) => setTimeout(r, 0)); const end = Date.now() + 40; while (Date.now() < end) {} }",
    ],
  ])("%s is stopped at the CPU budget", async (_case, body) => {
    const started = Date.now();
    expect(await hostile(body)).toEqual(sandboxError("SANDBOX_CPU_LIMIT"));
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("deep recursion is a tool error, not a crash", async () => {
    expect(await hostile("const f = () => f(); f();")).toEqual(isError(/Maximum call stack size exceeded/));
  });
});

describe("memory", () => {
  it.each([
    ["growing arrays", "const a = []; for (;;) a.push(new Array(100000).fill(1.5));"],
    ["a doubling string", "let s = 'x'; for (;;) s += s;"],
    [
      "JSON.stringify of a DAG",
      "let o = {}; for (let i = 0; i < 40; i++) o = { a: o, b: o }; return JSON.stringify(o);",
    ],
    ["Array(1e9).fill(0)", "return Array(1e9).fill(0).length;"],
    [
      "a Map of a million entries of kilobytes",
      "const m = new Map(); for (let i = 0; ; i++) m.set(i, 'x'.repeat(1024) + i);",
    ],
  ])("%s ends in a clear error and the neighbour never notices", async (_case, body) => {
    const outcome = (await hostile(body)) as { result?: { isError?: boolean }; error?: { code?: string } };
    // Depending on where V8 gives up: the heap limit, a RangeError inside the tool, or the shard killed.
    if (outcome.result) expect(outcome).toEqual(isError(/Invalid (string|array) length|out of memory|memory/i));
    else expect(outcome).toEqual(sandboxError("SANDBOX_MEMORY_LIMIT", "SANDBOX_CRASHED", "SANDBOX_CPU_LIMIT"));
    // Whatever happened, the server's shard answers again.
    const again = await harness.deployUnchecked(idOnShard(`after-memory-${caseNumber}`, 0, 2), NEIGHBOUR);
    expect(await harness.call(again, "echo", { text: "ok" })).toEqual({ content: [{ type: "text", text: "ok" }] });
  });
});

describe("output and noise", () => {
  it("a giant result is refused", async () => {
    expect(await hostile("return 'x'.repeat(20_000_000);")).toEqual(sandboxError("SANDBOX_RESULT_TOO_LARGE"));
  });

  it("a log flood is cut to the per-second budget", async () => {
    const lines: string[] = [];
    const started = Date.now();
    const outcome = await hostile("for (let i = 0; i < 20000; i++) ctx.log.info('line ' + i); return 'done';", {
      onLog: (_level, message) => lines.push(message),
    });
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(outcome).toEqual({ result: { content: [{ type: "text", text: "done" }] } });
    expect(lines.length).toBeGreaterThan(0);
    // 200 lines per second of the isolate's life (DEFAULT_LIMITS.maxLogLinesPerSecond), not 20,000.
    expect(lines.length).toBeLessThanOrEqual(200 * (seconds + 1));
  });

  it("a timer flood stops at the cap on pending timers", async () => {
    expect(await hostile("for (let i = 0; i < 100000; i++) setTimeout(() => {}, 1000);")).toEqual(
      isError(/at most 100 timers may be pending/),
    );
  });

  it("no timer outlives its call: there is no background work", async () => {
    const before = harness.serverLogs.length;
    expect(
      await hostile(
        "setTimeout(() => console.log('late'), 100); const again = () => setTimeout(again, 0); again(); return 'returned';",
      ),
    ).toEqual({
      result: { content: [{ type: "text", text: "returned" }] },
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(harness.serverLogs.slice(before).map(([, , message]) => message)).not.toContain("late");
  });
});

describe("errors and escapes", () => {
  it.each([
    // isolated-vm fails the task that leaves a rejection unhandled: it becomes the tool's error.
    [
      "a floating rejection",
      "Promise.reject(new Error('floating')); return 'ok';",
      isError(/failed: a promise was left rejected without a handler \(floating\)$/),
    ],
    ["throwing a number", "throw 42;", isError(/^42$/)],
    ["throwing null", "throw null;", isError(/^null$/)],
    [
      "throwing an object whose toString throws",
      "throw { toString() { throw new Error('nope'); } };",
      isError(/cannot be described/),
    ],
    ["throwing an object with a message", "throw { message: 'plain object' };", isError(/^plain object$/)],
  ])("%s", async (_case, body, expected) => {
    expect(await hostile(body)).toEqual(expected);
  });

  it.each([
    ["this.constructor.constructor", "return String(this.constructor.constructor('return typeof process')());"],
    [
      "an error's constructor chain",
      "try { null.f(); } catch (e) { return String(e.constructor.constructor('return process')()); }",
    ],
    ["a promise's constructor chain", "return String(Promise.resolve().constructor.constructor('return process')());"],
    [
      "an async function's constructor",
      "return String(Object.getPrototypeOf(async () => {}).constructor('return process')());",
    ],
    ["eval", "return String(eval('typeof process'));"],
  ])("%s cannot build code from strings", async (_case, body) => {
    expect(await hostile(body)).toEqual(isError(/Code generation from strings disallowed/));
  });

  it("sees no Node, no host handles and no secrets but its own", async () => {
    const outcome = (await hostile(
      // A bare \`require\` is esbuild's shim, which can load nothing: what matters is that it throws.
      `let required; const name = "fs"; try { required = require(name); } catch (e) { required = "threw: " + e.message; }
      return { process: typeof process, require: typeof globalThis.require, required: String(required).slice(0, 40),
        Buffer: typeof Buffer, setImmediate: typeof setImmediate,
        hostCall: typeof globalThis.__isolaHostCall, guest: typeof globalThis.__isolaGuest, env: Object.keys(ctx.env) };`,
      { env: { SECRET: "mine", OTHER_SERVERS_KEY: "not mine" } },
    )) as { result: { structuredContent: unknown } };
    expect(outcome.result.structuredContent).toEqual({
      process: "undefined",
      require: "undefined",
      required: expect.stringMatching(/^threw: /),
      Buffer: "undefined",
      setImmediate: "undefined",
      hostCall: "undefined",
      guest: "undefined",
      env: ["SECRET"],
    });
  });

  it("cannot find another server's secret anywhere it can reach", async () => {
    const other = await harness.deployUnchecked(
      idOnShard("secret-holder", 0, 2),
      serverSource({ run: "return ctx.env.SECRET;" }),
    );
    expect(await harness.call(other, "run", {}, { env: { SECRET: "s3cret-of-A" } })).toEqual({
      content: [{ type: "text", text: "s3cret-of-A" }],
    });
    const outcome = await hostile(
      "const seen = []; const walk = (o, d) => { if (d > 3 || o === null || typeof o !== 'object' && typeof o !== 'function') return; for (const k of Object.getOwnPropertyNames(o)) { try { const v = o[k]; if (typeof v === 'string') seen.push(v); else walk(v, d + 1); } catch {} } }; walk(globalThis, 0); return JSON.stringify(seen).includes('s3cret-of-A') ? 'found' : 'not found';",
    );
    expect(outcome).toEqual({ result: { content: [{ type: "text", text: "not found" }] } });
  });

  it("pollutes only its own realm", async () => {
    const outcome = await hostile(
      "Object.prototype.polluted = 'yes'; Array.prototype.push = () => { throw new Error('broken'); }; JSON.parse = () => ({ ok: 'forged' }); return 'done';",
    );
    expect(outcome).toEqual({ result: { content: [{ type: "text", text: "done" }] } });
    expect(({} as { polluted?: string }).polluted).toBeUndefined();
    const list: number[] = [];
    list.push(1);
    expect(list).toEqual([1]);
  });
});

describe("egress", () => {
  const approved = {
    allowedHosts: [
      "api.example.test",
      "private.example.test",
      "mixed.example.test",
      "127.0.0.1",
      "[::1]",
      "::1",
      "10.0.0.1",
      "169.254.169.254",
    ],
  };
  const fetchBody = (url: string) =>
    `try { await fetch(${JSON.stringify(url)}); return 'fetched'; } catch (e) { return e.message; }`;

  it.each([
    ["loopback", "https://127.0.0.1/", /127\.0\.0\.1.*(refused|not allowed)|loopback/i],
    ["IPv6 loopback", "https://[::1]/", /::1.*(refused|not allowed)|loopback/i],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data/", /metadata|169\.254\.169\.254/i],
    ["a private address", "https://10.0.0.1/", /10\.0\.0\.1.*(refused|not allowed)|private/i],
    ["a name that resolves to a private address", "https://private.example.test/", /10\.0\.0\.5|private/i],
    ["a name with one public and one private address", "https://mixed.example.test/", /192\.168\.1\.10|private/i],
    ["a host that was not approved", "https://evil.example.com/", /evil\.example\.com.*approved/i],
    ["an http downgrade", "http://api.example.test/", /http/i],
  ])("refuses %s", async (_case, url, message) => {
    const outcome = (await hostile(fetchBody(url), { egress: approved })) as {
      result: { content: { text: string }[] };
    };
    const text = outcome.result.content[0]?.text ?? "";
    expect(text).toMatch(/^fetch failed: /);
    expect(text).toMatch(message);
  });

  it("re-checks a redirect and refuses one to a metadata address", async () => {
    const outcome = (await hostile(
      fetchBody(`http://loopback.example.test:${redirectorPort}/http://169.254.169.254/latest/`),
      {
        // Reaching the test's redirector on loopback needs the LAN switch; metadata stays refused regardless.
        egress: {
          allowedHosts: ["loopback.example.test", "169.254.169.254"],
          allowHttpHosts: ["loopback.example.test", "169.254.169.254"],
          allowPrivateNetworks: true,
        },
      },
    )) as { result: { content: { text: string }[] } };
    expect(outcome.result.content[0]?.text).toMatch(/^fetch failed: .*(metadata|169\.254\.169\.254)/i);
  });
});
