import { migrateToLatest, quantile } from "@isola/schema";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenDatabase } from "../src/stores/database.ts";
import { type UsageEvent, UsageRecorder } from "../src/usage/recorder.ts";
import { databaseBackends } from "./support/backends.ts";

const at = new Date("2026-11-21T10:00:30Z");

describe.each(databaseBackends())("UsageRecorder on $name", (backend) => {
  let database: OpenDatabase;
  let serverId: string;
  let orgId: string;
  beforeAll(async () => {
    database = await backend.open();
    await migrateToLatest(database.db);
    const org = await database.db
      .insertInto("orgs")
      .values({ slug: "usage-org", name: "U" })
      .returning("id")
      .executeTakeFirstOrThrow();
    orgId = org.id;
    const server = await database.db
      .insertInto("servers")
      .values({
        org_id: orgId,
        slug: "usage",
        name: "U",
        auth_mode: "public",
        access_policy: "{}",
        egress_approved: "[]",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    serverId = server.id;
  });
  afterAll(async () => {
    await database?.close();
  });

  const event = (overrides: Partial<UsageEvent> = {}): UsageEvent => ({
    slug: "a-server",
    serverId,
    orgId,
    version: 1,
    tool: "echo",
    caller: "key-a",
    outcome: "ok",
    durationMs: 4,
    bytesIn: 10,
    bytesOut: 20,
    at,
    ...overrides,
  });

  it("adds up every recorded call exactly, across flushes, by minute, tool and outcome", async () => {
    const recorder = new UsageRecorder(database.db);
    for (let i = 0; i < 100; i++) recorder.record(event({ durationMs: i }));
    for (let i = 0; i < 7; i++) recorder.record(event({ outcome: "tool_error" }));
    recorder.record(event({ tool: "other", at: new Date("2026-11-21T10:01:10Z") }));
    await recorder.flush();
    // A second flush into the same minute adds to the row, histogram included.
    for (let i = 0; i < 50; i++) recorder.record(event({ durationMs: 1000 }));
    await recorder.stop();

    const rows = await database.db
      .selectFrom("usage_minutely")
      .select([
        "tool",
        "outcome",
        "calls",
        "duration_ms",
        "bytes_in",
        "latency_histogram",
        sql<string>`minute::text`.as("minute"),
      ])
      .where("server_id", "=", serverId)
      .orderBy("tool")
      .orderBy("outcome")
      .execute();
    expect(rows.map((r) => [r.tool, r.outcome, r.calls])).toEqual([
      ["echo", "ok", 150],
      ["echo", "tool_error", 7],
      ["other", "ok", 1],
    ]);
    const ok = rows[0];
    expect(ok?.duration_ms).toBe(4950 + 50 * 1000);
    expect(ok?.bytes_in).toBe(1500);
    expect(ok?.latency_histogram.reduce((a, b) => a + b, 0)).toBe(150);
    // p50 of 0..99 ms then fifty 1000 ms calls: in the 50-75 ms bucket; p99 in the 750-1000 ms bucket.
    expect(quantile(ok?.latency_histogram ?? [], 0.5)).toBeGreaterThan(50);
    expect(quantile(ok?.latency_histogram ?? [], 0.5)).toBeLessThanOrEqual(75);
    expect(quantile(ok?.latency_histogram ?? [], 0.99)).toBeGreaterThan(750);
    expect(recorder.pendingRows).toBe(0);
  });

  it("keeps its rows when a flush fails, and writes them on the next", async () => {
    const recorder = new UsageRecorder(database.db);
    recorder.record(event({ tool: "retry", caller: "key-r" }));
    await sql`alter table usage_minutely rename to usage_minutely_away`.execute(database.db);
    try {
      await recorder.flush();
      expect(recorder.flushFailures).toBe(1);
      expect(recorder.pendingRows).toBe(1);
    } finally {
      await sql`alter table usage_minutely_away rename to usage_minutely`.execute(database.db);
    }
    recorder.record(event({ tool: "retry", caller: "key-r" }));
    await recorder.flush();
    const row = await database.db
      .selectFrom("usage_minutely")
      .select("calls")
      .where("tool", "=", "retry")
      .executeTakeFirst();
    expect(row?.calls).toBe(2);
  });

  it("stop() during a flush also writes what was recorded while that flush ran", async () => {
    const recorder = new UsageRecorder(database.db);
    recorder.record(event({ tool: "during-flush" }));
    const running = recorder.flush();
    // Recorded after the running flush took its rows: only stop() can still write it.
    recorder.record(event({ tool: "during-flush", outcome: "timeout" }));
    await recorder.stop();
    await running;
    const rows = await database.db
      .selectFrom("usage_minutely")
      .select(["outcome", "calls"])
      .where("tool", "=", "during-flush")
      .orderBy("outcome")
      .execute();
    expect(rows).toEqual([
      { outcome: "ok", calls: 1 },
      { outcome: "timeout", calls: 1 },
    ]);
    expect(recorder.pendingRows).toBe(0);
  });

  it("bounds its memory: past the limit new rows are dropped and counted", () => {
    const recorder = new UsageRecorder(database.db, { maxPendingRows: 3 });
    for (let i = 0; i < 5; i++) recorder.record(event({ caller: `caller-${i}` }));
    recorder.record(event({ caller: "caller-0" }));
    expect(recorder.pendingRows).toBe(3);
    expect(recorder.dropped).toBe(2);
  });
});

describe("quantile", () => {
  it.each([
    [[], 0.5, null],
    [[10], 0.5, 0.5],
    [[0, 0, 0, 4], 1, 5],
  ] as const)("of %j at %s is %s", (histogram, q, expected) => {
    const full = [...histogram, ...new Array(29 - histogram.length).fill(0)];
    expect(quantile(full, q)).toBe(expected);
  });
});
