import { SANDBOX_ERRORS } from "@isola/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportFigures } from "../support/figures.ts";
import { eventually, sleep } from "../support/wait.ts";
import {
  type CallRecord,
  durations,
  failures,
  firstSuccessAfter,
  mcpToolTarget,
  percentile,
  startCallLoop,
} from "./support/call-loop.ts";
import { WORK_SOURCE, workCall } from "./support/drill-tenant.ts";
import { type ShardedNode, startShardedNode, type Tenant } from "./support/sharded-node.ts";

// Drill: one `isola start` process with two sandbox shards and six tenants, three on each, under
// steady MCP load (two callers per tenant, calls that stay ~50 ms in the shard). Shard 0's process
// is killed with SIGKILL five times, each a second after its tenants answered again; the fourth
// and fifth fall in the supervisor's crash-loop backoff (100 and 200 ms before the replacement).
// What the product promises (docs/ARCHITECTURE.md, Sandbox > Running): a crash costs only the
// calls in flight on that shard, which fail clearly (SANDBOX_CRASHED, as a tool result with
// isError), calls that come meanwhile wait for the replacement, and the other shard never notices.

const KILLS = 5;
/** Between the shard's recovery and the next kill. */
const PAUSE_MS = 1000;
const WORKERS = 2;
const CALL_MS = 50;
/**
 * A new shard builds the guest runtime and its V8 snapshot before it is ready (~1.1 s on an idle
 * 2-core machine, 3-4 s measured with a load average of 20), then loads the tenant's code.
 */
const RECOVERY_BOUND_MS = 6000;
/** A call sent before the node saw the process gone is lost with it too. */
const EXIT_NOTICE_MS = 100;

let node: ShardedNode;
let tenants: Tenant[];

beforeAll(async () => {
  node = await startShardedNode(2);
  tenants = await node.deployTenants("kill", WORK_SOURCE, 3);
}, 60_000);
afterAll(async () => {
  await node?.stop();
});

describe("a sandbox shard killed repeatedly under load", () => {
  it("costs only its in-flight calls, recovers each time, and the other shard never notices", async () => {
    const victims = tenants.filter((tenant) => tenant.shard === 0).map((tenant) => tenant.slug);
    const others = tenants.filter((tenant) => tenant.shard === 1).map((tenant) => tenant.slug);
    const restartsBefore = await node.metric("isola_sandbox_shard_restarts_total", { reason: "crashed" });
    const loop = startCallLoop(
      tenants.map((tenant) => {
        const work = workCall(CALL_MS);
        return mcpToolTarget(tenant.slug, tenant.mcpUrl, "work", work.args, work.expect);
      }),
      { workersPerTarget: WORKERS },
    );
    const readiness: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        readiness.push((await node.readyz()).status);
        await sleep(200);
      }
    })();

    const kills: { at: number; pid: number }[] = [];
    try {
      await sleep(PAUSE_MS);
      for (let k = 0; k < KILLS; k++) {
        const pid = node.shardPid(0);
        const at = performance.now();
        kills.push({ at, pid });
        process.kill(pid, "SIGKILL");
        // The next kill once every tenant of the shard answered again (a shard killed while it
        // starts has run no tool code: that would measure nothing but the wait).
        await eventually(
          () => (firstSuccessAfter(loop.records, victims, at).every(Boolean) ? true : undefined),
          RECOVERY_BOUND_MS * 2,
        ).catch(() => {});
        await sleep(PAUSE_MS);
      }
    } finally {
      await loop.stop();
      watching = false;
      await watcher;
    }
    const records = loop.records;
    const end = Math.max(...records.map((record) => record.endedAt));

    // Each failure belongs to the kill before it ended; none came before the first kill.
    const perKill = kills.map((kill, k) => {
      const until = kills[k + 1]?.at ?? end + 1;
      const failed = failures(records).filter((record) => record.endedAt >= kill.at && record.endedAt < until);
      const back = firstSuccessAfter(records, victims, kill.at);
      return {
        at: kill.at,
        failed,
        inFlightAtKill: records.filter((record) => record.startedAt <= kill.at && record.endedAt >= kill.at),
        recoveryMs: Math.max(...back.map((record) => (record ? record.endedAt - kill.at : Number.POSITIVE_INFINITY))),
      };
    });
    const failed = failures(records);
    const unexplained = failed.filter((record) => record.endedAt < (kills[0]?.at ?? 0));
    const recoveries = perKill.map((kill) => kill.recoveryMs);
    const otherCalls = records.filter((record) => others.includes(record.target));
    const events = node.events();
    const restartsAfter = await node.metric("isola_sandbox_shard_restarts_total", { reason: "crashed" });

    reportFigures("shard-killed-repeatedly", {
      kills: KILLS,
      callsTotal: records.length,
      victimCalls: records.length - otherCalls.length,
      otherShardCalls: otherCalls.length,
      failedPerKill: perKill.map((kill) => kill.failed.length).join("/"),
      inFlightPerKill: perKill
        .map((kill) => kill.inFlightAtKill.filter((r) => victims.includes(r.target)).length)
        .join("/"),
      recoveryMsPerKill: recoveries.map((ms) => Math.round(ms)).join("/"),
      recoveryMsMax: Math.max(...recoveries),
      recoveryMsMedian: percentile(recoveries, 50),
      otherShardFailures: failures(otherCalls).length,
      otherShardP95Ms: percentile(durations(otherCalls), 95),
      readyzNon200: readiness.filter((status) => status !== 200).length,
      restartsCounted: restartsAfter - restartsBefore,
      quarantines: events.filter((event) => event.type === "quarantine").length,
    });

    // The other shard's tenants saw nothing.
    expect(otherCalls.length).toBeGreaterThan(50);
    expect(failures(otherCalls)).toEqual([]);
    // No failure without a kill, and what failed said clearly why: a JSON-RPC answer, never a hang or a 5xx.
    expect(unexplained).toEqual([]);
    for (const record of failed) {
      expect(record, describeRecord(record)).toMatchObject({
        kind: "tool_error",
        status: 200,
        detail: SANDBOX_ERRORS.SANDBOX_CRASHED(),
      });
    }
    for (const [k, kill] of perKill.entries()) {
      // Only calls in flight at the kill fail: at most one per caller of the shard's tenants.
      expect(kill.failed.length, `kill ${k + 1}`).toBeLessThanOrEqual(victims.length * WORKERS);
      expect(
        kill.failed.every((record) => record.startedAt <= kill.at + EXIT_NOTICE_MS),
        `kill ${k + 1}`,
      ).toBe(true);
      // Every tenant of the killed shard answers again, within the bound.
      expect(kill.recoveryMs, `kill ${k + 1}`).toBeLessThan(RECOVERY_BOUND_MS);
    }
    // The node stayed ready; the operator's counter saw every kill; nobody was quarantined: each
    // kill's strike was shared by the tenants in flight (all three at each kill in the runs measured).
    expect(readiness.length).toBeGreaterThan(10);
    expect(readiness.every((status) => status === 200)).toBe(true);
    expect(restartsAfter - restartsBefore).toBe(KILLS);
    expect(
      events.filter((event) => event.type === "shard-exit" && kills.some((kill) => kill.pid === event.pid)),
    ).toHaveLength(KILLS);
    expect(events.filter((event) => event.type === "quarantine")).toEqual([]);
  }, 60_000);
});

const describeRecord = (record: CallRecord) =>
  `${record.target} ${record.kind} ${record.status} after ${Math.round(record.endedAt - record.startedAt)} ms: ${record.detail}`;
