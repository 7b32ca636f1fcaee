// The builds table as a queue, on each database: claims skip rows another node holds, respect
// the per-org limit, take over a build whose node's lease ran out (counting the resume), and
// events are numbered per build without gaps, also when appended at once.

import { randomUUID } from "node:crypto";
import { appendEvent, claimBuild, readEvents, renewLease, runningStatusFor } from "@isola/control/builds";
import { type BuildStatus, type Database, migrateToLatest } from "@isola/schema";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OpenDatabase } from "../../src/stores/database.ts";
import { MemoryBus } from "../../src/stores/memory-bus.ts";
import { databaseBackends } from "../support/backends.ts";

describe("the status a claimed build runs in", () => {
  it.each([
    ["queued", "planning"],
    ["planning", "planning"],
    ["confirmed", "coding"],
    ["coding", "coding"],
    ["checking", "checking"],
    ["deploying", "deploying"],
  ] as const)("%s -> %s", (from, to) => {
    expect(runningStatusFor(from)).toBe(to);
  });

  it.each(["waiting", "succeeded", "failed", "cancelled"] as const)("refuses a %s build", (status) => {
    expect(() => runningStatusFor(status)).toThrow(/not claimable/);
  });
});

describe.each(databaseBackends())("the build queue on $name", (backend) => {
  let database: OpenDatabase;
  let db: Kysely<Database>;
  const bus = new MemoryBus();
  const limits = { leaseMs: 30_000, perOrg: 2 };

  async function org(): Promise<string> {
    const row = await db
      .insertInto("orgs")
      .values({ slug: `o-${randomUUID().slice(0, 8)}`, name: "Org", plan_id: null })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function build(orgId: string, status: BuildStatus = "queued") {
    const row = await db
      .insertInto("builds")
      .values({
        org_id: orgId,
        kind: "new",
        prompt: "a weather server",
        status,
        auth_mode: "oauth",
        auto_deploy: true,
        max_rounds: 3,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  beforeAll(async () => {
    database = await backend.open();
    await migrateToLatest(database.db);
    db = database.db;
  });
  beforeEach(async () => {
    await db.deleteFrom("builds").execute();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("claims the oldest claimable build once, into the status of its next step", async () => {
    const o = await org();
    const first = await build(o);
    const second = await build(o, "confirmed");
    await build(o, "waiting");
    const a = await claimBuild(db, "node-a", limits);
    const b = await claimBuild(db, "node-b", limits);
    expect([a?.id, a?.status, a?.claimed_by]).toEqual([first, "planning", "node-a"]);
    expect([b?.id, b?.status, b?.claimed_by]).toEqual([second, "coding", "node-b"]);
    // The waiting build waits for its user, not for a runner.
    expect(await claimBuild(db, "node-c", limits)).toBeUndefined();
  });

  it("never hands one build to two nodes claiming at once", async () => {
    const o = await org();
    for (let i = 0; i < 2; i++) await build(await org());
    await build(o);
    const claims = await Promise.all(["a", "b", "c", "d", "e"].map((node) => claimBuild(db, node, limits)));
    const ids = claims.flatMap((claim) => (claim ? [claim.id] : []));
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it("runs at most perOrg builds of one org at once; other orgs go on", async () => {
    const busy = await org();
    for (let i = 0; i < 3; i++) await build(busy);
    const other = await org();
    const others = await build(other);
    const claimed = [];
    for (let i = 0; i < 4; i++) claimed.push(await claimBuild(db, "node", limits));
    expect(claimed.filter((row) => row?.org_id === busy)).toHaveLength(2);
    expect(claimed.map((row) => row?.id)).toContain(others);
    expect(claimed.at(-1)).toBeUndefined();
  });

  it("takes over a build whose lease ran out, counting the resume; a held lease is renewed only by its node", async () => {
    const o = await org();
    const id = await build(o);
    const t0 = new Date();
    await claimBuild(db, "dead-node", limits, t0);
    expect(await renewLease(db, id, "someone-else", 30_000)).toBe(false);
    // Within the lease: nobody else gets it.
    expect(await claimBuild(db, "node-b", limits, new Date(t0.getTime() + 10_000))).toBeUndefined();
    const taken = await claimBuild(db, "node-b", limits, new Date(t0.getTime() + 31_000));
    expect([taken?.id, taken?.status, taken?.claimed_by, taken?.resumes]).toEqual([id, "planning", "node-b", 1]);
    expect(await renewLease(db, id, "dead-node", 30_000)).toBe(false);
    expect(await renewLease(db, id, "node-b", 30_000)).toBe(true);
  });

  it("claims a build its node put back (no holder) in the step it was in, without counting a resume", async () => {
    const o = await org();
    const id = await build(o);
    await db
      .updateTable("builds")
      .set({ status: "checking", round: 2, claimed_by: null, lease_until: new Date(0) })
      .where("id", "=", id)
      .execute();
    const taken = await claimBuild(db, "node-b", limits);
    expect([taken?.id, taken?.status, taken?.round, taken?.claimed_by, taken?.resumes]).toEqual([
      id,
      "checking",
      2,
      "node-b",
      0,
    ]);
  });

  it("numbers events 1, 2, 3... per build, also when appended at once, and reads them after a seq", async () => {
    const o = await org();
    const a = await build(o);
    const b = await build(o);
    await Promise.all(Array.from({ length: 10 }, (_, n) => appendEvent(db, bus, a, "step", { n })));
    await appendEvent(db, bus, b, "step", { n: 0 });
    const events = await readEvents(db, a, 0);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(events.map((event) => (event.data as { n: number }).n)).size).toBe(10);
    expect((await readEvents(db, a, 7)).map((event) => event.seq)).toEqual([8, 9, 10]);
    expect((await readEvents(db, b, 0)).map((event) => event.seq)).toEqual([1]);
  });
});
