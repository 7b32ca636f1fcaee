import { describe, expect, it } from "vitest";
import { Quarantine } from "../src/host/quarantine.ts";
import { shardFor } from "../src/host/supervisor.ts";

const MINUTE = 60_000;

describe("Quarantine", () => {
  it.each([
    // [case, crashes as [minute, servers in flight], quarantined afterwards]
    [
      "a server that crashes its shard alone three times",
      [
        [0, ["bad"]],
        [1, ["bad"]],
        [2, ["bad"]],
      ],
      ["bad"],
    ],
    [
      "two crashes are not enough",
      [
        [0, ["bad"]],
        [1, ["bad"]],
      ],
      [],
    ],
    [
      "crashes spread over more than the window do not add up",
      [
        [0, ["bad"]],
        [6, ["bad"]],
        [12, ["bad"]],
      ],
      [],
    ],
    [
      "an innocent neighbour in flight at every crash shares the blame and stays out",
      [
        [0, ["bad", "busy"]],
        [1, ["bad", "busy"]],
        [2, ["bad"]],
        [3, ["bad"]],
        [4, ["bad", "busy"]],
      ],
      ["bad"],
    ],
    [
      "a crash with no calls in flight blames nobody",
      [
        [0, []],
        [1, []],
        [2, []],
      ],
      [],
    ],
    [
      "the same server twice in one crash counts once",
      [
        [0, ["bad", "bad"]],
        [1, ["bad"]],
        [2, ["bad"]],
      ],
      ["bad"],
    ],
  ] as const)("%s", (_case, crashes, expected) => {
    const quarantine = new Quarantine({ strikes: 3, windowMs: 10 * MINUTE });
    for (const [minute, servers] of crashes) quarantine.recordCrash(servers, minute * MINUTE);
    expect(quarantine.list().sort()).toEqual([...expected].sort());
  });

  it("reports each server once, when it enters quarantine", () => {
    const quarantine = new Quarantine({ strikes: 2 });
    expect(quarantine.recordCrash(["a"], 0)).toEqual([]);
    expect(quarantine.recordCrash(["a"], 1)).toEqual(["a"]);
    expect(quarantine.recordCrash(["a"], 2)).toEqual([]);
  });

  it("lets a cleared server start again from no strikes", () => {
    const quarantine = new Quarantine({ strikes: 2 });
    quarantine.recordCrash(["a"], 0);
    quarantine.recordCrash(["a"], 1);
    expect(quarantine.isQuarantined("a")).toBe(true);
    quarantine.clear("a");
    expect(quarantine.isQuarantined("a")).toBe(false);
    expect(quarantine.recordCrash(["a"], 2)).toEqual([]);
  });
});

describe("shardFor", () => {
  it("sends a server to the same shard every time, and spreads servers across shards", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const shard = shardFor(`server-${i}`, 4);
      expect(shardFor(`server-${i}`, 4)).toBe(shard);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});
