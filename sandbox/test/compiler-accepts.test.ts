import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Artifact, ServerSource } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { COMPILER_VERSION, compileServer } from "../src/compiler/compile.ts";
import { guestRuntimeSource } from "../src/host/guest-runtime.ts";
import { describeInIsolate } from "./support/describe-in-isolate.ts";

const fixture = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

async function compile(files: ServerSource): Promise<Artifact> {
  const result = await compileServer(files, { describe: describeInIsolate });
  if (!result.ok) throw new Error(`expected the server to compile:\n${JSON.stringify(result.errors, null, 2)}`);
  return result.artifact;
}

const SCHEMA = "https://json-schema.org/draft/2020-12/schema";

describe("the weather fixture", () => {
  it("compiles to a manifest of exactly what it declares", async () => {
    const { manifest } = await compile({ "index.ts": await fixture("weather.ts") });
    expect(manifest).toEqual({
      name: "weather",
      secrets: ["WEATHER_KEY"],
      egress: ["api.example.test"],
      tools: [
        {
          name: "forecast",
          description: "Daily forecast for a city",
          inputSchema: {
            $schema: SCHEMA,
            type: "object",
            properties: {
              city: { type: "string", description: "City name" },
              days: { type: "integer", minimum: 1, maximum: 7, default: 3 },
            },
            required: ["city"],
          },
          outputSchema: {
            $schema: SCHEMA,
            type: "object",
            properties: {
              city: { type: "string" },
              days: {
                type: "array",
                items: {
                  type: "object",
                  properties: { date: { type: "string" }, maxC: { type: "number" } },
                  required: ["date", "maxC"],
                  additionalProperties: false,
                },
              },
            },
            required: ["city", "days"],
            additionalProperties: false,
          },
          annotations: { readOnlyHint: true },
        },
        {
          name: "echo",
          description: "Echoes its text",
          inputSchema: {
            $schema: SCHEMA,
            type: "object",
            properties: { text: { type: "string" } },
            required: ["text"],
          },
        },
        {
          name: "whoami",
          description: "Who is calling, and whether the key is set",
          inputSchema: { $schema: SCHEMA, type: "object", properties: {} },
        },
        {
          name: "fails",
          description: "Always fails",
          inputSchema: { $schema: SCHEMA, type: "object", properties: {} },
        },
      ],
      resources: [
        { key: "readme", uri: "docs://readme", name: "readme", mimeType: "text/markdown" },
        { key: "city", uriTemplate: "cities://{name}", name: "city" },
      ],
      prompts: [
        {
          name: "plan_trip",
          description: "Plan a trip",
          arguments: [
            { name: "city", description: "Where to", required: true },
            { name: "month", required: false },
          ],
        },
      ],
    });
  });

  it("identifies the bundle by its sha256 and names the compiler that built it", async () => {
    const artifact = await compile({ "index.ts": await fixture("weather.ts") });
    expect(artifact.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(artifact.hash).toBe(createHash("sha256").update(artifact.bundle).digest("hex"));
    expect(artifact.compilerVersion).toBe(COMPILER_VERSION);
    expect(artifact.compilerVersion).toMatch(/^isola-compiler\/\d+$/);
  });

  it("builds the same bundle and hash from the same source", async () => {
    const source = await fixture("weather.ts");
    const [a, b] = [await compile({ "index.ts": source }), await compile({ "index.ts": source })];
    expect(b.bundle).toBe(a.bundle);
    expect(b.hash).toBe(a.hash);
  });

  it("bundles only the tenant's code: the isola module is read from the global the guest runtime installs", async () => {
    const { bundle } = await compile({ "index.ts": await fixture("weather.ts") });
    const runtime = await guestRuntimeSource();
    expect(bundle).toContain("globalThis.__isola");
    // zod and the guest runtime live in the runtime script, not in the bundle.
    expect(runtime).toContain("toJSONSchema");
    for (const marker of ["toJSONSchema", "ZodObject", "__isolaGuest", "__isolaHostCall", "may be called only once"]) {
      expect(bundle).not.toContain(marker);
    }
    expect(Buffer.byteLength(bundle)).toBeLessThan(4 * 1024);
    expect(Buffer.byteLength(runtime)).toBeGreaterThan(50 * Buffer.byteLength(bundle));
  });
});

describe("servers of several files", () => {
  const files: ServerSource = {
    "index.ts": [
      'import { defineServer } from "isola";',
      'import { echo } from "./tools/echo.ts";',
      'import { NAME, shout } from "./util";',
      "",
      'export default defineServer({ name: NAME, description: shout("several files"), tools: { echo } });',
    ].join("\n"),
    "tools/echo.ts": [
      'import { tool, z } from "isola";',
      'import { shout } from "../util.ts";',
      "",
      "export const echo = tool({",
      '  description: "Echoes its text, louder",',
      '  input: z.object({ text: z.string().describe("What to echo") }),',
      "  run: ({ text }) => shout(text),",
      "});",
    ].join("\n"),
    "util.ts": [
      'export const NAME = "multi";',
      'export const shout = (text: string): string => text.toUpperCase() + "!";',
    ].join("\n"),
  };

  it("compile, with imports with and without the .ts extension", async () => {
    const { manifest, bundle } = await compile(files);
    expect(manifest.name).toBe("multi");
    expect(manifest.description).toBe("SEVERAL FILES!");
    expect(manifest.tools).toEqual([
      {
        name: "echo",
        description: "Echoes its text, louder",
        inputSchema: {
          $schema: SCHEMA,
          type: "object",
          properties: { text: { type: "string", description: "What to echo" } },
          required: ["text"],
        },
      },
    ]);
    // util.ts is imported twice and bundled once.
    expect(bundle.match(/\.toUpperCase\(\)/g)).toHaveLength(1);
  });

  it("resolve a folder import to its index.ts, as the type check does", async () => {
    const { manifest } = await compile({
      "index.ts":
        'import { defineServer } from "isola";\nimport { NAME } from "./lib";\nexport default defineServer({ name: NAME });\n',
      "lib/index.ts": 'export const NAME = "from-a-folder";\n',
    });
    expect(manifest.name).toBe("from-a-folder");
  });

  it("accept one file under any name as the entry", async () => {
    const { manifest } = await compile({
      "server.ts": 'import { defineServer } from "isola";\ndefineServer({ name: "solo" });\n',
    });
    expect(manifest).toEqual({ name: "solo", tools: [], resources: [], prompts: [], secrets: [], egress: [] });
  });
});

describe("a server of ten tools", () => {
  it("compiles with every tool, its schemas and annotations", async () => {
    const { manifest } = await compile({ "index.ts": await fixture("compiler-ten-tools.ts") });
    expect(manifest.tools.map((t) => t.name)).toEqual([
      "add",
      "multiply",
      "upper",
      "words",
      "sort",
      "convert",
      "uuid",
      "encode",
      "lookup",
      "slow",
    ]);
    expect(manifest.tools.find((t) => t.name === "convert")?.inputSchema).toEqual({
      $schema: SCHEMA,
      type: "object",
      properties: {
        celsius: { type: "number", minimum: -273.15 },
        unit: { type: "string", enum: ["metric", "imperial"], default: "metric", description: "Units for the answer" },
      },
      required: ["celsius"],
    });
    expect(manifest.tools.find((t) => t.name === "lookup")?.annotations).toEqual({ openWorldHint: true });
    expect(manifest).toMatchObject({ version: "1.0.0", secrets: ["API_TOKEN"], egress: ["api.example.test"] });
  });
});
