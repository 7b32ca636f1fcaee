import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answer, type FakeAnthropic, startFakeAnthropic } from "../support/fake-anthropic.ts";
import { reportFigures } from "../support/figures.ts";
import { Fleet, type FleetNode } from "../support/fleet.ts";
import { PostgresServer } from "../support/postgres-server.ts";
import { eventually, sleep } from "../support/wait.ts";
import { startCallLoop } from "./support/call-loop.ts";
import { readyz, usageCalls, watchReadiness } from "./support/probes.ts";
import { type Attempt, retryingToolTarget } from "./support/retrying-client.ts";

// Drill: the fleet's PostgreSQL (a server of this test's own) goes away for several seconds while
// every node serves calls, then comes back. Servers already loaded must keep answering from what
// the nodes hold (directory, isolates, sessions and limits in Redis), /readyz must say the
// database is down and then up again, and the usage of the calls served meanwhile must be kept in
// memory and written once the database is back: exactly one usage count per successful call.
//
// A build confirmed just before the outage is waiting on the model (the fake Messages API) while
// the database is away; the model answers after it is back, and the build must finish. (A model
// answer that lands while the database is still away is not covered here: the runner cannot write
// it, and the build waits for its 30 s lease to run out before another node resumes it.)
//
// Two servers are public, one takes API keys: a key is checked against the database every 5 s,
// and while the database is away the runtime goes on trusting the keys it knows (ExpiringCache),
// so key-authenticated calls must not fail either.

const PUBLIC_SERVERS = ["open-a", "open-b"];
const KEYED_SERVER = "keyed";
const OUTAGE_MS = 6000;
const MODEL_KEY = "sk-ant-test-key";

let model: FakeAnthropic;
let postgres: PostgresServer;
let fleet: Fleet;
let key: string;

beforeAll(async () => {
  [postgres, model] = await Promise.all([PostgresServer.start(), startFakeAnthropic()]);
  fleet = await Fleet.start({
    size: 3,
    databaseAdminUrl: postgres.adminUrl,
    env: { ISOLA_ROLES: "runtime,control,worker", ANTHROPIC_API_KEY: MODEL_KEY, ANTHROPIC_BASE_URL: model.url },
  });
  for (const slug of PUBLIC_SERVERS) {
    const created = await fleet.control("any", "POST", "servers", { slug, name: slug, authMode: "public" });
    expect(created.status).toBe(201);
    await fleet.deploy(slug);
  }
  await fleet.deploy(KEYED_SERVER);
  key = (await fleet.createKey(KEYED_SERVER, "drill")).key;
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
  await postgres?.destroy();
  await model?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
const buildOf = async (id: string): Promise<any> => (await fleet.control("any", "GET", `builds/${id}`)).body;

/** Waits for the build to reach `status`; fails at once when it ends in another. */
const buildUntil = (id: string, status: string, timeoutMs: number) =>
  eventually(async () => {
    const build = await buildOf(id);
    if (build?.status === status) return build;
    if (["succeeded", "failed", "cancelled"].includes(build?.status)) {
      throw new Error(`the build ended ${build.status}: ${JSON.stringify(build.error)}`);
    }
    return undefined;
  }, timeoutMs);

const target = (node: FleetNode, slug: string, attempts: Attempt[], headers: Record<string, string> = {}) =>
  retryingToolTarget({
    name: `${node.name}/${slug}`,
    url: () => `${node.url}/${slug}/mcp`,
    pinnedTo: node.name,
    tool: "hello",
    args: () => ({ name: "drill" }),
    expect: (result) => result.content?.[0]?.text === "Hello, drill!",
    headers,
    attempts,
    maxAttempts: 1,
  });

describe("PostgreSQL restarted under load", () => {
  it("keeps warm servers answering, reports the database down then up, and writes the usage it held once it is back", async () => {
    const nodes = fleet.nodes as [FleetNode, FleetNode, FleetNode];
    // A build, planned and waiting for its confirmation.
    model.queue(answer.message("plan-weather"));
    const created = await fleet.control("any", "POST", "builds", {
      prompt: "A server with weather forecasts for any city",
      authMode: "public",
      slug: "weather",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const waiting = await buildUntil(created.body.id, "waiting", 30_000);

    const open: Attempt[] = [];
    const keyed: Attempt[] = [];
    const load = startCallLoop(
      nodes.flatMap((node) => [
        ...PUBLIC_SERVERS.map((slug) => target(node, slug, open)),
        target(node, KEYED_SERVER, keyed, { authorization: `Bearer ${key}` }),
      ]),
      { timeoutMs: 15_000 },
    );
    // Warm: every server has answered on every node.
    await eventually(() =>
      nodes.every((node) =>
        [...PUBLIC_SERVERS, KEYED_SERVER].every((slug) =>
          [...open, ...keyed].some((attempt) => attempt.target === `${node.name}/${slug}` && attempt.kind === "ok"),
        ),
      )
        ? true
        : undefined,
    );
    await sleep(1000);

    // Confirmed: a node codes it, waiting on a model that answers once the database is back.
    const asked = model.requests.length;
    model.queue(answer.slow(OUTAGE_MS + 3000, answer.message("code-weather")));
    const confirmed = await fleet.control("any", "POST", `builds/${waiting.id}/confirm`, {
      answers: { units: "metric" },
      approvedEgress: waiting.plan?.egress ?? [],
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    await eventually(() => (model.requests.length > asked ? true : undefined), 15_000);

    const watch = watchReadiness(() => nodes.map((node) => ({ name: node.name, url: node.url })));
    const stoppedAt = performance.now();
    await postgres.stop("immediate");
    await sleep(OUTAGE_MS);
    const startedAt = performance.now();
    await postgres.start();
    const readyAgainMs = await Promise.all(
      nodes.map((node) =>
        eventually(async () => {
          const probe = await readyz(node.name, node.url);
          if (probe.status === 200) return performance.now() - startedAt;
          const { exitCode, signalCode } = node.process.child;
          throw new Error(
            `${node.name}'s /readyz answers ${probe.status}: ${JSON.stringify(probe.body)} (exit ${exitCode} ${signalCode}; stderr: ${node.process.stderr()}; last logs: ${node.process.lines
              .filter((line) => !line.includes('"mcp request"'))
              .slice(-6)
              .join("\n")})`,
          );
        }, 20_000),
      ),
    );
    await sleep(1000);
    await load.stop();
    await watch.stop();

    // /readyz: the database down, in words, then up.
    const down = watch.seen.filter((probe) => probe.at > stoppedAt + 300 && probe.at < startedAt);
    for (const node of nodes) expect(down.filter((probe) => probe.node === node.name).length).toBeGreaterThan(3);
    for (const probe of down) {
      expect(probe.status).toBe(503);
      expect(probe.body).toMatchObject({
        status: "unavailable",
        checks: { database: { ok: false, kind: "postgres", error: expect.any(String) }, bus: { ok: true } },
      });
    }

    // Warm public servers: not one failure, before, during or after the outage.
    const openCalls = open.filter((attempt) => attempt.step === "tools/call");
    const openDuring = openCalls.filter((attempt) => attempt.startedAt > stoppedAt && attempt.endedAt < startedAt);
    expect(open.filter((attempt) => attempt.kind !== "ok")).toEqual([]);
    for (const node of nodes)
      expect(openDuring.filter((attempt) => attempt.node === node.name).length).toBeGreaterThan(5);

    // The build goes on after the outage, to a live server.
    const built = await buildUntil(waiting.id, "succeeded", 40_000);
    const buildDoneMs = performance.now() - startedAt;
    expect(built.version).toBe(1);

    // Key-authenticated calls: not one failure either, though the outage outlasts the key cache.
    const keyedDuring = keyed.filter((attempt) => attempt.startedAt > stoppedAt && attempt.endedAt < startedAt);
    expect(keyed.filter((attempt) => attempt.kind !== "ok")).toEqual([]);
    expect(keyedDuring.length).toBeGreaterThan(5);

    // Usage: the nodes stop gracefully (flushing); every successful call counted exactly once.
    // Memory by node, before they go: what the recorders hold is gone with them.
    for (const node of nodes) await fleet.kill(node, "SIGTERM");
    const succeeded = [...open, ...keyed].filter((attempt) => attempt.step === "tools/call" && attempt.kind === "ok");
    const recorded = await usageCalls(fleet.databaseUrl, "hello");

    reportFigures("drill.postgres-restarted", {
      outageMs: startedAt - stoppedAt,
      openCalls: openCalls.length,
      openCallsDuringOutage: openDuring.length,
      openFailed: open.filter((attempt) => attempt.kind !== "ok").length,
      keyedCallsDuringOutage: keyedDuring.length,
      keyedFailed: keyed.filter((attempt) => attempt.kind !== "ok").length,
      readyAgainMsMax: Math.max(...readyAgainMs),
      buildSucceededMsAfterOutage: buildDoneMs,
      succeeded: succeeded.length,
      usageRecorded: recorded,
      usageLost: succeeded.length - recorded,
    });
    expect(recorded).toBe(succeeded.length);
  }, 85_000);
});
