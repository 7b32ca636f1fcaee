import { SANDBOX_ERRORS } from "@isola/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportFigures } from "../support/figures.ts";
import { eventually, sleep } from "../support/wait.ts";
import {
  type CallRecord,
  durations,
  failures,
  type LoadTarget,
  mcpToolTarget,
  percentile,
  startCallLoop,
} from "./support/call-loop.ts";
import { BOMB_SOURCE, WORK_SOURCE, workCall } from "./support/drill-tenant.ts";
import { type ShardedNode, startShardedNode, type Tenant } from "./support/sharded-node.ts";

// Drill: one `isola start` process with two sandbox shards. A hostile tenant on shard 0 spins the
// CPU once, then calls a tool that allocates without bound, again and again, while four neighbours
// (two on its shard, two on the other) are called back to back.
//
// What the product guarantees (sandbox/src/host/supervisor.ts, quarantine.ts): a heap overrun
// fails the call with SANDBOX_MEMORY_LIMIT and is a strike for its server; a shard that dies
// anyway (isolated-vm may crash the process on a bomb: SIGSEGV measured here) fails only its calls
// in flight with SANDBOX_CRASHED, each a share of a strike for those servers; at 3 strikes in 10
// minutes the server is quarantined, refused before any shard with SANDBOX_QUARANTINED. So the
// neighbours on the bomb's shard lose at most their calls in flight at each crash, and the other
// shard nothing.

const ATTACK_BUDGET_MS = 20_000;
const STRIKES = 3;
const WORKERS = 1;
const CRASHED = SANDBOX_ERRORS.SANDBOX_CRASHED();
const QUARANTINED = SANDBOX_ERRORS.SANDBOX_QUARANTINED();
const MEMORY = SANDBOX_ERRORS.SANDBOX_MEMORY_LIMIT(64);

let node: ShardedNode;
let bomb: Tenant;
let neighbours: Tenant[];

beforeAll(async () => {
  node = await startShardedNode(2);
  bomb = await node.deployOnShard("bomb", BOMB_SOURCE, 0);
  neighbours = await node.deployTenants("near", WORK_SOURCE, 2);
}, 60_000);
afterAll(async () => {
  await node?.stop();
});

/** Calls `target` once and records it like the load loop does. */
async function callOnce(target: LoadTarget, into: CallRecord[]): Promise<CallRecord> {
  const startedAt = performance.now();
  const result = await target.call(AbortSignal.timeout(20_000));
  const record = { target: target.name, startedAt, endedAt: performance.now(), ...result };
  into.push(record);
  return record;
}

describe("a memory-bomb tenant on a shared shard", () => {
  it("is stopped, then quarantined, and costs its neighbours at most their calls in flight at a crash", async () => {
    const sameShard = neighbours.filter((tenant) => tenant.shard === 0).map((tenant) => tenant.slug);
    const otherShard = neighbours.filter((tenant) => tenant.shard === 1).map((tenant) => tenant.slug);
    const quarantinesBefore = await node.metric("isola_sandbox_quarantines_total");
    const loopStart = performance.now();
    const loop = startCallLoop(
      neighbours.map((tenant) => {
        const work = workCall(5);
        return mcpToolTarget(tenant.slug, tenant.mcpUrl, "work", work.args, work.expect);
      }),
      { workersPerTarget: WORKERS },
    );
    const bombCalls: CallRecord[] = [];
    // The bomb keeps its session, as a real client would.
    const spin = mcpToolTarget("spin", bomb.mcpUrl, "spin", () => ({}));
    const allocate = mcpToolTarget("allocate", bomb.mcpUrl, "allocate", () => ({}));
    const work = mcpToolTarget("work", bomb.mcpUrl, "work", () => ({ ms: 0, tag: "x" }));

    let attackStart = 0;
    let quarantinedAt = 0;
    let attackEnd = 0;
    const refused: CallRecord[] = [];
    try {
      await sleep(2500);
      attackStart = performance.now();
      // A CPU spinner is stopped at its budget (2 s by default) and is not a strike.
      const spun = await callOnce(spin, bombCalls);
      expect(spun).toMatchObject({ kind: "tool_error", detail: SANDBOX_ERRORS.SANDBOX_CPU_LIMIT(2000) });
      while (performance.now() - attackStart < ATTACK_BUDGET_MS) {
        const record = await callOnce(allocate, bombCalls);
        if (record.detail === QUARANTINED) {
          quarantinedAt = record.startedAt;
          break;
        }
      }
      attackEnd = performance.now();
      // Quarantined: every tool of the server is refused at once, before any shard.
      for (const target of [allocate, work, allocate, work, allocate]) refused.push(await callOnce(target, []));
      await sleep(1000);
    } finally {
      await loop.stop();
    }

    const records = loop.records;
    const of = (slugs: string[]) => records.filter((record) => slugs.includes(record.target));
    const settled = (record: CallRecord) => record.startedAt >= loopStart + 1000;
    const before = records.filter((record) => settled(record) && record.endedAt < attackStart);
    const during = records.filter((record) => record.startedAt >= attackStart && record.endedAt <= attackEnd);
    const attack = bombCalls.slice(1);
    const beforeQuarantine = attack.filter((record) => record.detail !== QUARANTINED);
    const crashes = node
      .events()
      .filter((event) => event.type === "shard-exit" && event.slot === 0 && event.reason !== "recycled");
    const quarantines = node.events().filter((event) => event.type === "quarantine");

    reportFigures("memory-bomb-quarantined", {
      bombCallsUntilQuarantine: beforeQuarantine.length,
      memoryLimitAnswers: beforeQuarantine.filter((record) => record.detail === MEMORY).length,
      crashedAnswers: beforeQuarantine.filter((record) => record.detail === CRASHED).length,
      shardCrashes: crashes.length,
      crashSignals: crashes.map((event) => event.signal ?? event.reason).join("/") || "none",
      msToQuarantine: quarantinedAt - (attack[0]?.startedAt ?? attackStart),
      refusedMaxMs: Math.max(...durations(refused)),
      neighbourCalls: records.length,
      sameShardNeighbourFailures: failures(of(sameShard)).length,
      otherShardFailures: failures(of(otherShard)).length,
      sameShardP95BeforeMs: percentile(durations(before.filter((r) => sameShard.includes(r.target))), 95),
      sameShardP95DuringMs: percentile(durations(during.filter((r) => sameShard.includes(r.target))), 95),
      otherShardP95BeforeMs: percentile(durations(before.filter((r) => otherShard.includes(r.target))), 95),
      otherShardP95DuringMs: percentile(durations(during.filter((r) => otherShard.includes(r.target))), 95),
    });

    // Every bomb call was answered clearly, and the server was quarantined within its strikes:
    // each heap overrun is a whole strike, so at most 3 of them (fewer if crashes added shares).
    expect(quarantinedAt, "quarantined within the attack").toBeGreaterThan(0);
    for (const record of beforeQuarantine) expect([MEMORY, CRASHED]).toContain(record.detail);
    expect(beforeQuarantine.filter((record) => record.detail === MEMORY).length).toBeLessThanOrEqual(STRIKES);
    expect(beforeQuarantine.length).toBeLessThanOrEqual(STRIKES + crashes.length);
    expect(quarantines).toEqual([expect.objectContaining({ serverId: bomb.id })]);
    expect((await node.metric("isola_sandbox_quarantines_total")) - quarantinesBefore).toBe(1);
    // Refused quickly, for every tool, with the quarantine's own error.
    for (const record of refused) expect(record).toMatchObject({ kind: "tool_error", detail: QUARANTINED });
    expect(Math.max(...durations(refused))).toBeLessThan(500);

    // The other shard never noticed.
    expect(of(otherShard).length).toBeGreaterThan(50);
    expect(failures(of(otherShard))).toEqual([]);
    // The bomb's shard-mates lost at most their calls in flight at each crash, and heard why.
    expect(of(sameShard).length).toBeGreaterThan(50);
    const lost = failures(of(sameShard));
    expect(lost.length).toBeLessThanOrEqual(crashes.length * sameShard.length * WORKERS);
    for (const record of lost) expect(record).toMatchObject({ kind: "tool_error", detail: CRASHED });
    // ...and answer again once the bomb is quarantined.
    const after = of(sameShard).filter((record) => record.startedAt > attackEnd);
    expect(after.length).toBeGreaterThan(0);
    expect(failures(after)).toEqual([]);

    // A new version lifts the quarantine: its owner fixed the code.
    const fixed = await node.control("POST", `servers/${bomb.slug}/versions`, { source: WORK_SOURCE });
    expect(fixed.status).toBe(201);
    expect((await node.control("POST", `servers/${bomb.slug}/deploy`, { version: fixed.body.number })).status).toBe(
      200,
    );
    const answered = await eventually(async () => {
      const record = await callOnce(work, []);
      return record.kind === "ok" ? record : undefined;
    });
    expect(answered.kind).toBe("ok");
  }, 60_000);
});
