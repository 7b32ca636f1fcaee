import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { bundleServer } from "../src/compiler/bundle.ts";
import { prepareGuestRuntime } from "../src/host/guest-runtime.ts";
import { TenantIsolate } from "../src/host/tenant-isolate.ts";

// Isolates get the guest runtime from a V8 snapshot (half the cold start of running it),
// with running the script as the fallback. Both must give tool code the same world.
const SOURCE = readFileSync(new URL("./fixtures/weather.ts", import.meta.url), "utf8");
const RANDOM = `import { defineServer, tool, z } from "isola";
defineServer({ name: "r", tools: { random: tool({ description: "d", input: z.object({}), run: () => String(Math.random()) }) } });`;
const options = { env: { WEATHER_KEY: "k" }, user: null, egress: { allowedHosts: [] } };

const open: TenantIsolate[] = [];
afterEach(() => {
  for (const isolate of open.splice(0)) isolate.dispose();
});

async function load(source: string, runtime: "snapshot" | "script"): Promise<TenantIsolate> {
  const bundle = await bundleServer({ "index.ts": source }, "index.ts");
  if (!bundle.ok) throw new Error(JSON.stringify(bundle.errors));
  const isolate = await TenantIsolate.create({ code: bundle.code, hash: bundle.hash }, {}, { runtime });
  open.push(isolate);
  return isolate;
}

describe("loading the guest runtime", () => {
  it("has a snapshot on this machine", async () => {
    expect((await prepareGuestRuntime()).snapshot).toBeDefined();
  });

  it("gives the same manifest and results from the snapshot as from the script", async () => {
    const fromSnapshot = await load(SOURCE, "snapshot");
    const fromScript = await load(SOURCE, "script");
    expect(await fromSnapshot.describe()).toEqual(await fromScript.describe());
    for (const [tool, args] of [
      ["forecast", { city: "Oslo", days: 2 }],
      ["whoami", {}],
      ["fails", {}],
      ["echo", { text: 5 }],
    ] as const) {
      expect(await fromSnapshot.callTool(tool, args, options)).toEqual(await fromScript.callTool(tool, args, options));
    }
  });

  it("does not share random state between isolates made from one snapshot", async () => {
    const values = new Set<unknown>();
    for (let i = 0; i < 4; i++)
      values.add(JSON.stringify(await (await load(RANDOM, "snapshot")).callTool("random", {}, options)));
    expect(values.size).toBe(4);
  });
});
