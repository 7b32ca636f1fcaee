import { describe, expect, it } from "vitest";
import { LoadGate } from "../src/host/load-gate.ts";

/** A load that ends when told to. */
function deferred(): { promise: Promise<string>; finish(value: string): void; fail(error: Error): void } {
  let finish: (value: string) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const promise = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the load gate", () => {
  it.each([1, 2, 4])("runs at most %i loads at once, the others in the order they came", async (limit) => {
    const gate = new LoadGate(limit);
    const loads = Array.from({ length: limit + 3 }, () => deferred());
    const started: number[] = [];
    const results = loads.map((load, i) =>
      gate.run(() => {
        started.push(i);
        return load.promise;
      }),
    );
    await turn();
    expect(started).toEqual(Array.from({ length: limit }, (_, i) => i));
    expect([gate.running, gate.waiting]).toEqual([limit, 3]);
    // One ends: exactly one more starts, the next in line.
    loads[0]?.finish("a");
    await turn();
    expect(started).toEqual(Array.from({ length: limit + 1 }, (_, i) => i));
    for (const load of loads) load.finish("done");
    expect(await Promise.all(results)).toEqual(["a", ...Array(limit + 2).fill("done")]);
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });

  it("frees the slot of a load that failed, and passes its error on", async () => {
    const gate = new LoadGate(1);
    const failing = deferred();
    const first = gate.run(() => failing.promise);
    const second = gate.run(async () => "second");
    failing.fail(new Error("bundle failed to compile"));
    await expect(first).rejects.toThrow("bundle failed to compile");
    expect(await second).toBe("second");
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });

  it("frees the slot of a load that threw before returning a promise", async () => {
    const gate = new LoadGate(1);
    await expect(
      gate.run(() => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    expect(await gate.run(async () => "next")).toBe("next");
  });

  it.each([0, -1, Number.NaN])("refuses a limit of %s", (limit) => {
    expect(() => new LoadGate(limit)).toThrow(RangeError);
  });
});
