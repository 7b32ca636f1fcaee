import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELLO_SOURCE } from "../support/api-harness.ts";
import { reportFigures } from "../support/figures.ts";
import { Fleet, type FleetNode, type FleetSession, ROOMY_PLAN, type Target } from "../support/fleet.ts";
import { type Answer, initializeRequest, send } from "../support/mcp.ts";
import { sleep } from "../support/wait.ts";

// What one node counts, every node sees: a caller's rate limit, the org's monthly quota, a key's
// revocation and the usage all live in Redis or Postgres, never in one node's memory. Calls are
// spread over the three nodes directly and through the balancer.

/** The org's monthly quota in this file. Tool calls of every test count against it: see `accepted`. */
const QUOTA = 120;
const PLAN = { ...ROOMY_PLAN, callsPerMonth: QUOTA, rateLimitPerMinute: 100_000 };

let fleet: Fleet;
let a: FleetNode;
let b: FleetNode;
let c: FleetNode;
/** Tool calls of this org that the fleet accepted so far in this file (the quota test runs last). */
let accepted = 0;

beforeAll(async () => {
  fleet = await Fleet.start({ size: 3, plans: [PLAN] });
  [a, b, c] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
  await fleet.deploy("shared", HELLO_SOURCE, a);
  await fleet.deploy("meter", HELLO_SOURCE, b);
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
});

const hello = (session: FleetSession, on: Target, name: string) =>
  session.post(on, "tools/call", { name: "hello", arguments: { name } });

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? 0;

describe("a caller's rate limit across the fleet", () => {
  it("never lets calls alternated between the nodes exceed the caller's bucket", async () => {
    const { key } = await fleet.createKey("shared", "alternating", { rateLimitPerMinute: 6 });
    const caller = await fleet.session("shared", key, a);
    // initialize took one call; five remain, wherever they land.
    const answers: Answer[] = [];
    const nodes = [b, c, a];
    for (let call = 0; call < 10; call++) answers.push(await caller.post(nodes[call % 3] as FleetNode, "ping"));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    for (const refused of answers.slice(5)) {
      expect(refused.json.error.message).toMatch(
        /^rate limit exceeded: API key "alternating" may make 6 calls a minute to shared \(the key's own limit\)/,
      );
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
  });

  it("admits no more than the bucket holds from a burst spread over every node at once", async () => {
    const limit = 20;
    const { key } = await fleet.createKey("shared", "burst", { rateLimitPerMinute: limit });
    const caller = await fleet.session("shared", key, a);
    const started = performance.now();
    const targets: Target[] = [a, b, c, "any"];
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, call) => caller.post(targets[call % targets.length] as Target, "ping")),
    );
    const seconds = (performance.now() - started) / 1000;
    const admitted = answers.filter((answer) => answer.status === 200).length;
    const refused = answers.filter((answer) => answer.status === 429).length;
    expect(admitted + refused).toBe(answers.length);
    // The bucket held `limit`, initialize took one, and it refills at limit/60 a second meanwhile.
    const allowance = limit - 1 + Math.floor((seconds + 1) * (limit / 60));
    expect(admitted).toBeGreaterThanOrEqual(limit - 1);
    expect(admitted).toBeLessThanOrEqual(allowance);
    reportFigures("fleet.rate-limit-burst", { limit, sent: answers.length, admitted, refused, burstSeconds: seconds });
  });
});

describe("an API key revoked through one node", () => {
  it("is refused by the other nodes within seconds, for calls and for new sessions", async () => {
    const lags: number[] = [];
    for (let round = 0; round < 3; round++) {
      const { id, key } = await fleet.createKey("shared", `doomed-${round}`);
      const caller = await fleet.session("shared", key, c);
      // Every node knows (and caches) the key.
      for (const node of [a, b, c]) expect((await caller.post(node, "ping")).status, node.name).toBe(200);

      expect((await fleet.control(a, "DELETE", `servers/shared/keys/${id}`)).status).toBe(204);
      const revokedAt = performance.now();
      let refused: Answer | undefined;
      while (!refused && performance.now() - revokedAt < 10_000) {
        const answer = await caller.post(c, "ping");
        if (answer.status === 401) refused = answer;
        else await sleep(10);
      }
      lags.push(performance.now() - revokedAt);
      expect(refused?.json.error.message).toBe(
        "the API key is not valid for this server (unknown, revoked or expired)",
      );
      for (const node of [a, b]) expect((await caller.post(node, "ping")).status, node.name).toBe(401);
      const again = await send(`${b.url}/shared/mcp`, {
        body: initializeRequest(),
        headers: { authorization: `Bearer ${key}` },
      });
      expect(again.status).toBe(401);
    }
    reportFigures("fleet.key-revocation", {
      rounds: lags.length,
      maxLagMs: Math.max(...lags),
      medianLagMs: median(lags),
    });
    // Announced on the Bus: well before the key cache's own 5 s expiry.
    for (const lag of lags) expect(lag).toBeLessThan(2_000);
  });
});

describe("usage from every node", () => {
  it("adds up to exactly the calls made, once every node flushed", async () => {
    const { key } = await fleet.createKey("meter", "metered");
    const sessions = await Promise.all([a, b, c].map((node) => fleet.session("meter", key, node)));
    const targets: Target[] = [a, b, c, "any"];
    const calls = 48;
    const answers = await Promise.all(
      Array.from({ length: calls }, (_, call) =>
        hello(sessions[call % 3] as FleetSession, targets[call % targets.length] as Target, `n${call}`),
      ),
    );
    const lastAnswer = performance.now();
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    accepted += calls;

    // Each node served some and counts what it served; together exactly the calls.
    const served = await Promise.all(
      fleet.nodes.map(async (node) => {
        const lines = (await fleet.metrics(node))
          .split("\n")
          .filter((text) => text.startsWith("isola_tool_calls_total{") && text.includes('server="meter"'));
        return lines.reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
      }),
    );
    for (const count of served) expect(count).toBeGreaterThan(0);
    expect(served.reduce((sum, count) => sum + count, 0)).toBe(calls);

    // The nodes flush every 5 s; the usage API shows the sum once each of them did.
    let shown = 0;
    while (performance.now() - lastAnswer < 15_000) {
      const usage = await fleet.control("any", "GET", "servers/meter/usage");
      expect(usage.status).toBe(200);
      shown = usage.body.totals.calls;
      if (shown >= calls) break;
      await sleep(100);
    }
    const flushLagMs = performance.now() - lastAnswer;
    expect(shown).toBe(calls);
    // Past another flush of every node: still exactly the calls (nothing counted twice).
    await sleep(5_500);
    const later = await fleet.control(c, "GET", "servers/meter/usage");
    expect(later.body.totals.calls).toBe(calls);
    expect(later.body.totals.outcomes.ok).toBe(calls);
    reportFigures("fleet.usage-sum", {
      calls,
      counted: later.body.totals.calls,
      servedByA: served[0] ?? 0,
      servedByB: served[1] ?? 0,
      servedByC: served[2] ?? 0,
      flushLagMs,
    });
  });
});

describe("the org's monthly quota across the fleet", () => {
  it("admits exactly what is left of it from concurrent calls on every node, then refuses on each", async () => {
    const { key } = await fleet.createKey("shared", "meter");
    const sessions = await Promise.all([a, b, c].map((node) => fleet.session("shared", key, node)));
    const left = QUOTA - accepted;
    const targets: Target[] = [a, b, c, "any"];
    const answers = await Promise.all(
      Array.from({ length: left + 15 }, (_, call) =>
        hello(sessions[call % 3] as FleetSession, targets[call % targets.length] as Target, `q${call}`),
      ),
    );
    const admitted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(admitted).toHaveLength(left);
    expect(refused).toHaveLength(15);
    for (const answer of refused)
      expect(answer.json.error.message).toMatch(/^monthly quota exceeded: the organisation of shared has used/);
    accepted += admitted.length;

    // Every node refuses the next call, and still lists tools (listing is not a tool call).
    for (const node of [a, b, c]) {
      const session = sessions[node.index] as FleetSession;
      expect((await hello(session, node, "over")).status, node.name).toBe(429);
      const listed = await session.post(node, "tools/list");
      expect(listed.status).toBe(200);
      expect(listed.json.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["hello"]);
    }
    reportFigures("fleet.monthly-quota", {
      quota: QUOTA,
      sentConcurrently: answers.length,
      admitted: admitted.length,
      refused: refused.length,
      acceptedInMonth: accepted,
    });
    expect(accepted).toBe(QUOTA);
  });
});
