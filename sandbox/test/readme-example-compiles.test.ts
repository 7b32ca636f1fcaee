import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileServer } from "../src/compiler/compile.ts";
import { describeInIsolate } from "./support/describe-in-isolate.ts";

// The README's guest API example is the first thing a tool author copies: it must compile
// with every check, and declare what the README says it declares.
const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const example = /## Writing a server: the guest API[\s\S]*?```ts\n([\s\S]*?)```/.exec(README)?.[1];

describe("the README's example server", () => {
  it("compiles with every check and declares its tools, resource, prompt, secret and egress", async () => {
    expect(example).toBeDefined();
    const result = await compileServer({ "index.ts": example ?? "" }, { describe: describeInIsolate });
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    const { manifest } = result.artifact;
    expect(manifest.tools.map((t) => t.name)).toEqual(["forecast"]);
    expect(manifest.resources.map((r) => r.uri)).toEqual(["weather://units"]);
    expect(manifest.prompts.map((p) => p.name)).toEqual(["packing_list"]);
    expect(manifest.secrets).toEqual(["WEATHER_API_KEY"]);
    expect(manifest.egress).toEqual(["api.open-meteo.com"]);
  });
});
