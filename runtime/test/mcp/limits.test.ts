import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServerLogLine, serverLogKey } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../src/mcp/context.ts";
import { describeCaller, nextMonth, rateFor, secondsToNextMonth } from "../../src/mcp/limits.ts";
import type { ServerRecord } from "../../src/mcp/server-directory.ts";
import { type Api, type Client, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { ACCEPT_BOTH, deploySource, initializeRequest } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";

// Small limits, so that a test reaches them in a few requests. A bucket refills one call every
// 12 s: no test runs long enough to see a refill.
const PLAN = { id: "default", name: "Small", maxServers: 10, callsPerMonth: 3, memoryMb: 64, rateLimitPerMinute: 5 };

const dir = mkdtempSync(join(tmpdir(), "isola-limits-"));
let api: Api;
beforeAll(async () => {
  const plans = join(dir, "plans.json");
  writeFileSync(plans, JSON.stringify([PLAN]));
  // PostgreSQL when there is one (quicker to start than the embedded database).
  api = await startApi(databaseBackends().at(-1), { ISOLA_PLANS_FILE: plans });
  await deploySource(api.admin, "keyed", HELLO_SOURCE, { authMode: "api_key" });
  await deploySource(api.admin, "open", HELLO_SOURCE, { authMode: "public" });
}, 60_000);
afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  body: any;
}

/** One POST to a server's endpoint, in-process, from `address` (127.0.0.1 by default). */
async function post(
  slug: string,
  message: unknown,
  headers: Record<string, string> = {},
  address = "127.0.0.1",
): Promise<Reply> {
  const response = await api.app.inject({
    method: "POST",
    url: `/${slug}/mcp`,
    remoteAddress: address,
    headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
    payload: typeof message === "string" ? message : JSON.stringify(message),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body ? JSON.parse(response.body) : undefined,
  };
}

/** A caller with a session: initialize (which takes a call from the bucket too), then requests. */
async function connect(slug: string, headers: Record<string, string> = {}, address?: string) {
  const initialized = await post(slug, initializeRequest(), headers, address);
  expect(initialized.status, JSON.stringify(initialized.body)).toBe(200);
  const session = {
    ...headers,
    "mcp-session-id": String(initialized.headers["mcp-session-id"]),
    "mcp-protocol-version": initialized.body.result.protocolVersion,
  };
  let id = 1;
  return {
    ping: () => post(slug, { jsonrpc: "2.0", id: ++id, method: "ping" }, session, address),
    list: () => post(slug, { jsonrpc: "2.0", id: ++id, method: "tools/list" }, session, address),
    hello: (name = "you") =>
      post(
        slug,
        { jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: "hello", arguments: { name } } },
        session,
        address,
      ),
  };
}

async function createKey(client: Client, slug: string, name: string, rateLimitPerMinute?: number): Promise<string> {
  const created = await client.post(`servers/${slug}/keys`, {
    name,
    ...(rateLimitPerMinute ? { rateLimitPerMinute } : {}),
  });
  expect(created.status).toBe(201);
  return created.body.key;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Expects a 429 whose JSON-RPC error answers request `id` and says `message`; returns Retry-After. */
function expectRefused(reply: Reply, message: RegExp): number {
  expect(reply.status, JSON.stringify(reply.body)).toBe(429);
  expect(reply.body).toMatchObject({
    jsonrpc: "2.0",
    error: { code: -32000, message: expect.stringMatching(message) },
  });
  expect(reply.body.id).toEqual(expect.any(Number));
  expect(String(reply.headers["retry-after"])).toMatch(/^\d+$/);
  return Number(reply.headers["retry-after"]);
}

async function limitLines(slug: string, client = api.admin): Promise<ServerLogLine[]> {
  const { id } = (await client.get(`servers/${slug}`)).body;
  const entries = await api.stores.bus.readAfter(serverLogKey(id));
  return entries.map((entry) => JSON.parse(entry.value) as ServerLogLine).filter((line) => line.source === "limit");
}

describe("rate limits per caller per server", () => {
  it("refuses an API key past the plan's calls a minute with 429, Retry-After and an error naming the limit and the key", async () => {
    const ci = await connect("keyed", bearer(await createKey(api.admin, "keyed", "ci")));
    for (let call = 2; call <= PLAN.rateLimitPerMinute; call++) expect((await ci.ping()).status).toBe(200);
    const refused = await ci.ping();
    const retryAfter = expectRefused(
      refused,
      /^rate limit exceeded: API key "ci" may make 5 calls a minute to keyed \(the plan's limit\); retry in \d+ s$/,
    );
    // One call comes back every 12 s.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12);
    expect(refused.body.error.message).toContain(`retry in ${retryAfter} s`);
    // Every method counts, not only tool calls.
    expect((await ci.list()).status).toBe(429);
    expect((await ci.hello()).status).toBe(429);

    // Another key of the same server has a bucket of its own.
    const other = await connect("keyed", bearer(await createKey(api.admin, "keyed", "other")));
    expect((await other.ping()).status).toBe(200);

    // The refusals are in the server's live log, naming the limit and the caller (never the key).
    const lines = await eventually(async () => {
      const found = (await limitLines("keyed")).filter((line) => line.caller === "ci");
      return found.length >= 3 ? found : undefined;
    });
    expect(lines[0]).toMatchObject({
      level: "warning",
      source: "limit",
      caller: "ci",
      data: { limit: "rate" },
      message: expect.stringMatching(/^rate limit exceeded: API key "ci"/),
    });
  });

  it("lets a key's own limit beat the plan's, below it and above it", async () => {
    const slow = await connect("keyed", bearer(await createKey(api.admin, "keyed", "slow", 2)));
    expect((await slow.ping()).status).toBe(200);
    expectRefused(
      await slow.ping(),
      /^rate limit exceeded: API key "slow" may make 2 calls a minute to keyed \(the key's own limit\)/,
    );

    const fast = await connect("keyed", bearer(await createKey(api.admin, "keyed", "fast", 8)));
    for (let call = 2; call <= 8; call++) expect((await fast.ping()).status).toBe(200);
    expectRefused(await fast.ping(), /API key "fast" may make 8 calls a minute to keyed \(the key's own limit\)/);
  });

  it("gives each address its own bucket on a public server", async () => {
    const first = await connect("open", {}, "203.0.113.7");
    for (let call = 2; call <= PLAN.rateLimitPerMinute; call++) expect((await first.ping()).status).toBe(200);
    expectRefused(
      await first.ping(),
      /^rate limit exceeded: anonymous caller at 203\.0\.113\.7 may make 5 calls a minute to open \(the plan's limit\)/,
    );
    // A new session from the same address draws on the same bucket.
    const again = await post("open", initializeRequest(), {}, "203.0.113.7");
    expect(again.status).toBe(429);
    expect(again.body.error.message).toMatch(/anonymous caller at 203\.0\.113\.7/);

    const second = await connect("open", {}, "198.51.100.4");
    expect((await second.hello("second")).body.result.content[0].text).toBe("Hello, second!");
    await eventually(async () =>
      (await limitLines("open")).some((line) => line.caller === "anonymous" && /203\.0\.113\.7/.test(line.message))
        ? true
        : undefined,
    );
  });
});

describe("the monthly tool-call quota per org", () => {
  it("refuses tools/call past the plan's calls a month with 429, while tools/list and ping still work", async () => {
    // An org of its own: the quota is the org's, whatever the server or the caller.
    const { session } = await api.signup();
    const owner = await api.tokenFor(session);
    await deploySource(owner, "metered", HELLO_SOURCE, { authMode: "api_key" });

    // Calls refused by the rate limit do not use up the quota.
    const burst = await connect("metered", bearer(await createKey(owner, "metered", "burst", 2)));
    expect((await burst.hello("one")).status).toBe(200);
    for (let attempt = 0; attempt < 4; attempt++) expect((await burst.hello()).status).toBe(429);

    // Its own generous rate limit, so that only the quota can refuse it.
    const meter = await connect("metered", bearer(await createKey(owner, "metered", "meter", 50)));
    for (const name of ["two", "three"])
      expect((await meter.hello(name)).body.result.content[0].text).toBe(`Hello, ${name}!`);
    const month = new Date().toISOString().slice(0, 7);
    const refused = await meter.hello("four");
    const retryAfter = expectRefused(
      refused,
      new RegExp(
        `^monthly quota exceeded: the organisation of metered has used the 3 tool calls its plan allows in ${month} \\(refused for API key "meter"\\); it resets at \\d{4}-\\d{2}-01T00:00:00\\.000Z$`,
      ),
    );
    expect(Math.abs(retryAfter - secondsToNextMonth(new Date()))).toBeLessThan(5);

    const listed = await meter.list();
    expect(listed.status).toBe(200);
    expect(listed.body.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["hello"]);
    expect((await meter.ping()).status).toBe(200);

    // Another org's quota is untouched.
    const elsewhere = await connect("open", {}, "192.0.2.55");
    expect((await elsewhere.hello()).status).toBe(200);

    const quotaLine = await eventually(async () =>
      (await limitLines("metered", owner)).find((l) => (l.data as { limit?: string } | undefined)?.limit === "quota"),
    );
    expect(quotaLine).toMatchObject({ caller: "meter", message: expect.stringMatching(/^monthly quota exceeded/) });

    // Usage counts the refused calls as `limit` (4 rate refusals + 1 quota), never run.
    const usage = await eventually(async () => {
      const view = (await owner.get("servers/metered/usage")).body;
      return view.totals.calls >= 8 ? view : undefined;
    }, 15_000);
    expect(usage.totals).toMatchObject({ calls: 8, outcomes: { ok: 3, limit: 5 } });
    expect(usage.tools.map((tool: { tool: string }) => tool.tool)).toEqual(["hello"]);
  }, 30_000);
});

describe("the body size cap", () => {
  const padded = (bytes: number) =>
    JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping", params: { pad: "x".repeat(bytes) } });

  it("refuses a message over 1 MiB with 413 and a JSON-RPC error, before anything else", async () => {
    const refused = await post("open", padded(1024 * 1024), {}, "192.0.2.80");
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({
      jsonrpc: "2.0",
      error: { code: -32600, message: "the message is over 1048576 bytes" },
    });
    // Even on a server that wants a key, and without a session: size is checked first.
    expect((await post("keyed", padded(2 * 1024 * 1024))).status).toBe(413);
  });

  it("accepts a message just under the cap", async () => {
    const session = await post("open", initializeRequest(), {}, "192.0.2.82");
    const headers = {
      "mcp-session-id": String(session.headers["mcp-session-id"]),
      "mcp-protocol-version": session.body.result.protocolVersion,
    };
    const near = await post("open", padded(1024 * 1024 - 200), headers, "192.0.2.82");
    expect(near.status, JSON.stringify(near.body)).toBe(200);
  });
});

describe("/readyz", () => {
  it("reports the limits as shared while the bus answers", async () => {
    const ready = await api.app.inject("/readyz");
    expect(ready.statusCode).toBe(200);
    expect(ready.json().details).toEqual({ limits: { degraded: false, mode: "shared" } });
  });
});

describe("the limits policy", () => {
  const server = { plan: { rateLimitPerMinute: 60, callsPerMonth: 10, memoryMb: 64 } } as ServerRecord;
  const caller = (fields: Partial<Caller>): Caller => ({
    kind: "key",
    label: "ci",
    user: null,
    rateKey: "s:key:1",
    ...fields,
  });

  it.each([
    ["a key without its own limit", caller({}), 'API key "ci"', { perMinute: 60, source: "plan" }],
    ["a key with a lower limit", caller({ rateLimitPerMinute: 5 }), 'API key "ci"', { perMinute: 5, source: "key" }],
    [
      "a key with a higher limit",
      caller({ rateLimitPerMinute: 900 }),
      'API key "ci"',
      { perMinute: 900, source: "key" },
    ],
    [
      "an OAuth user",
      caller({ kind: "oauth", label: "alice via app", rateKey: "s:sub:alice" }),
      "user alice via app",
      { perMinute: 60, source: "plan" },
    ],
    [
      "an anonymous IPv4 caller",
      caller({ kind: "anonymous", label: "anonymous", rateKey: "s:ip:192.0.2.1" }),
      "anonymous caller at 192.0.2.1",
      { perMinute: 60, source: "plan" },
    ],
    [
      "an anonymous IPv6 caller",
      caller({ kind: "anonymous", label: "anonymous", rateKey: "s:ip:2001:db8::1" }),
      "anonymous caller at 2001:db8::1",
      { perMinute: 60, source: "plan" },
    ],
  ])("names %s and picks its rate", (_case, who, name, rate) => {
    expect(describeCaller(who)).toBe(name);
    expect(rateFor(server, who)).toEqual(rate);
  });

  it.each([
    ["mid-month", "2026-11-21T12:00:00Z", "2026-12-01T00:00:00.000Z", 9 * 86_400 + 12 * 3600],
    ["December rolls over the year", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00.000Z", 1],
    [
      "the first instant of a month waits a whole month",
      "2027-02-01T00:00:00Z",
      "2027-03-01T00:00:00.000Z",
      28 * 86_400,
    ],
  ])("resets the quota at the next month: %s", (_case, now, next, seconds) => {
    expect(nextMonth(new Date(now)).toISOString()).toBe(next);
    expect(secondsToNextMonth(new Date(now))).toBe(seconds);
  });
});
