import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELLO_SOURCE } from "../support/api-harness.ts";
import { reportFigures } from "../support/figures.ts";
import { Fleet, type FleetNode } from "../support/fleet.ts";
import { eventually, sleep } from "../support/wait.ts";
import { percentile, startCallLoop } from "./support/call-loop.ts";
import { type Readiness, readyz, watchReadiness } from "./support/probes.ts";
import { type Attempt, retryingToolTarget } from "./support/retrying-client.ts";

// Drill: the fleet's Redis is killed while every node serves calls, stays away for a few
// seconds, and comes back empty (no persistence). Calls must go on under each node's own limits,
// /readyz must say the bus is down and the limits are local, in words; the nodes must reconnect
// on their own, and a deploy on one node must reach another again through the bus.
//
// Clients are pinned to a node, as a sticky balancer keeps an MCP session on one node: while
// Redis is away a session lives only in the memory of the node that began it (docs/ARCHITECTURE.md,
// "While Redis is down"). A client behind the round-robin balancer is measured too, for the
// figures only: its initialize, notification and call land on different nodes.

const SERVERS = ["steady", "sturdy"];
const OUTAGE_MS = 4000;

let fleet: Fleet;
const keys = new Map<string, string>();

beforeAll(async () => {
  fleet = await Fleet.start({ size: 3 });
  for (const slug of SERVERS) {
    await fleet.deploy(slug);
    keys.set(slug, (await fleet.createKey(slug, "drill")).key);
  }
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
});

const greeting = (word: string) => HELLO_SOURCE.replace("`Hello, ", `\`${word}, `);

const helloTarget = (slug: string, attempts: Attempt[], name: string, url: () => string, pinnedTo?: string) =>
  retryingToolTarget({
    name,
    url,
    tool: "hello",
    args: () => ({ name: "drill" }),
    expect: (result) => result.content?.[0]?.text === "Hello, drill!",
    headers: { authorization: `Bearer ${keys.get(slug)}` },
    attempts,
    ...(pinnedTo ? { pinnedTo } : {}),
  });

/** Ready again, with shared limits: the node reconnected. */
const reconnected = (probe: Readiness) => probe.status === 200 && probe.body?.details?.limits?.mode === "shared";

describe("Redis restarted under load", () => {
  it("keeps calls going under local limits, says so in /readyz, and reconnects every node on its own", async () => {
    const nodes = fleet.nodes as [FleetNode, FleetNode, FleetNode];
    const [a, , c] = nodes;
    for (const node of nodes) expect(reconnected(await readyz(node.name, node.url))).toBe(true);

    const pinned: Attempt[] = [];
    const balanced: Attempt[] = [];
    const load = startCallLoop(
      nodes.flatMap((node) =>
        SERVERS.map((slug) =>
          helloTarget(slug, pinned, `${node.name}/${slug}`, () => `${node.url}/${slug}/mcp`, node.name),
        ),
      ),
      { timeoutMs: 15_000 },
    );
    const roundRobin = startCallLoop(
      [helloTarget("steady", balanced, "balanced", () => `${fleet.balancer.url}/steady/mcp`)],
      { timeoutMs: 15_000 },
    );
    await sleep(2000);

    const watch = watchReadiness(() => nodes.map((node) => ({ name: node.name, url: node.url })));
    const killedAt = performance.now();
    await fleet.redis.kill();
    await sleep(OUTAGE_MS);
    const restartedAt = performance.now();
    await fleet.redis.start();
    const reconnectMs = await Promise.all(
      nodes.map((node) =>
        eventually(async () => {
          const probe = await readyz(node.name, node.url);
          return reconnected(probe) ? performance.now() - restartedAt : undefined;
        }, 15_000),
      ),
    );
    await sleep(1000);
    await load.stop();
    await roundRobin.stop();
    await watch.stop();

    // /readyz during the outage: 503, the bus down and the limits local, in words, on every node.
    const during = watch.seen.filter((probe) => probe.at > killedAt + 500 && probe.at < restartedAt);
    for (const node of nodes) expect(during.filter((probe) => probe.node === node.name).length).toBeGreaterThan(3);
    for (const probe of during) {
      expect(probe.status).toBe(503);
      expect(probe.body).toMatchObject({
        status: "unavailable",
        checks: { database: { ok: true }, bus: { ok: false, kind: "redis", error: expect.stringMatching(/Redis/) } },
        details: {
          limits: {
            degraded: true,
            mode: "local",
            reason: expect.stringMatching(/^limits are kept by each node on its own: Redis is unavailable/),
          },
        },
      });
    }

    // Calls went on, on every node, during the outage; no pinned call was left without an answer.
    const calls = load.records;
    expect(calls.filter((call) => call.kind !== "ok")).toEqual([]);
    const okDuring = pinned.filter(
      (attempt) =>
        attempt.step === "tools/call" &&
        attempt.kind === "ok" &&
        attempt.startedAt > killedAt &&
        attempt.endedAt < restartedAt,
    );
    for (const node of nodes)
      expect(okDuring.filter((attempt) => attempt.node === node.name).length).toBeGreaterThan(5);
    const failedDuring = pinned.filter(
      (attempt) =>
        attempt.kind !== "ok" &&
        attempt.endedAt > killedAt &&
        attempt.startedAt < restartedAt + Math.max(...reconnectMs),
    );
    // The only refusals: a session kept in Redis is unknown while it is away (404), and the client begins another.
    for (const failure of failedDuring) expect(failure.status, JSON.stringify(failure)).toBe(404);

    // After reconnection a deploy on A reaches C through the bus again.
    await fleet.deploy("steady", greeting("Bonjour"), a);
    const deployedAt = performance.now();
    const propagationMs = await eventually(async () => {
      const session = await fleet.session("steady", keys.get("steady") as string, c);
      const answer = await session.post(c, "tools/call", { name: "hello", arguments: { name: "drill" } });
      return answer.json?.result?.content?.[0]?.text === "Bonjour, drill!" ? performance.now() - deployedAt : undefined;
    }, 10_000);

    const during2 = (attempts: Attempt[]) =>
      attempts.filter(
        (attempt) => attempt.step === "tools/call" && attempt.startedAt > killedAt && attempt.startedAt < restartedAt,
      );
    const balancedDuring = during2(balanced);
    reportFigures("drill.redis-restarted", {
      outageMs: restartedAt - killedAt,
      calls: calls.length,
      callsOkDuringOutage: okDuring.length,
      callsFailedDuringOutage: calls.filter((call) => call.kind !== "ok").length,
      attemptsRefusedDuringOutage: failedDuring.length,
      callP99MsDuringOutage: percentile(
        okDuring.map((attempt) => attempt.endedAt - attempt.startedAt),
        99,
      ),
      reconnectMsMax: Math.max(...reconnectMs),
      reconnectMsMin: Math.min(...reconnectMs),
      deployPropagationMs: propagationMs,
      roundRobinCallsDuringOutage: balancedDuring.length,
      roundRobinOkDuringOutage: balancedDuring.filter((attempt) => attempt.kind === "ok").length,
      roundRobinCallsFailed: roundRobin.records.filter((call) => call.kind !== "ok").length,
    });
    expect(Math.max(...reconnectMs)).toBeLessThan(5000);
    expect(propagationMs).toBeLessThan(1000);
  }, 80_000);
});
