import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantIsolate } from "../src/host/tenant-isolate.ts";
import { callOptions, fixture, loadServer } from "./support/load-server.ts";

// Tool code reaches the host only through the guest runtime's functions: the host's entry
// points are gone from the global object before the bundle runs, Node is not there, and
// the `isola` module cannot be swapped for later calls.

let isolate: TenantIsolate;
beforeAll(async () => {
  ({ isolate } = await loadServer(await fixture("guest-isolation.ts")));
});
afterAll(() => isolate?.dispose());

const structured = async (name: string, options = callOptions()) =>
  ((await isolate.callTool(name, {}, options)) as { structuredContent: Record<string, unknown> }).structuredContent;

describe("what tool code can reach", () => {
  const nothing = {
    hostCall: "undefined",
    guest: "undefined",
    isolaGlobals: ["__isola"],
    process: "undefined",
    require: "undefined",
    node: [],
  };

  it("neither the host's callback nor its entry points, nor Node, while the bundle loads", async () => {
    expect((await structured("reach")).atLoad).toEqual(nothing);
  });

  it("none of them during a call either", async () => {
    expect((await structured("reach")).inCall).toEqual(nothing);
  });

  it("no require: a bare `require` in tool code is the bundler's stub, which throws", async () => {
    expect((await structured("reach")).bareRequire).toBe("Error");
  });

  it("a ctx with only the documented members", async () => {
    expect((await structured("reach")).ctx).toEqual([
      "elicit",
      "env",
      "llm",
      "log",
      "progress",
      "sample",
      "signal",
      "user",
    ]);
  });
});

describe("the isola module", () => {
  it("cannot be replaced, deleted or changed", async () => {
    const tamper = await structured("tamper");
    expect(["TypeError", "no error: undefined"]).toContain(tamper.assign);
    expect(tamper).toMatchObject({
      reflectSet: false,
      delete: false,
      defineProperty: "TypeError",
      replaceMember: false,
      addMember: false,
    });
  });

  it("is the same, frozen module in a later call", async () => {
    await structured("tamper");
    expect(await structured("isolaAfter")).toEqual({
      same: true,
      frozen: true,
      keys: ["defineServer", "prompt", "resource", "tool", "z"],
    });
  });
});

describe("the bridge", () => {
  it("is not subverted by tool code replacing JSON.stringify", async () => {
    const lines: unknown[] = [];
    await isolate.callTool("forgeBridge", {}, callOptions({ onLog: (...line) => lines.push(line) }));
    expect(lines).toEqual([["info", "the real line", undefined]]);
  });
});
