// The gallery's loader: a folder that is not a valid template stops the start with an error
// naming it; config.ts written from settings holds exactly those values, whatever they contain.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadCatalogue, templateFiles } from "@isola/control";
import { afterAll, describe, expect, it } from "vitest";
import { template } from "./template-sandbox.ts";

const root = mkdtempSync(join(tmpdir(), "isola-templates-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const VALID = {
  id: "demo",
  name: "Demo",
  description: "A demo",
  egress: ["api.example.com"],
  secrets: [{ name: "API_KEY", description: "The key", howToGet: "Ask", required: true }],
  authMode: "api_key",
  settings: [{ name: "baseUrl", description: "Where", default: "https://api.example.com" }],
};

let count = 0;
/** A gallery with one folder holding `files` (template.json as an object is written as JSON). */
function gallery(files: Record<string, unknown>, folder = "demo"): string {
  const dir = join(root, `gallery-${++count}`);
  mkdirSync(join(dir, folder), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, folder, name), typeof content === "string" ? content : JSON.stringify(content));
  }
  return dir;
}

const INDEX = 'import { defineServer } from "isola";\nexport default defineServer({ name: "demo" });\n';

it("reads a valid folder: its manifest, its code without config.ts, and the settings' defaults", () => {
  const catalogue = loadCatalogue(
    gallery({ "template.json": VALID, "index.ts": INDEX, "config.ts": "stale", "x.md": "" }),
  );
  const demo = catalogue.get("demo");
  expect(demo?.manifest).toEqual(VALID);
  expect(Object.keys(demo?.code ?? {})).toEqual(["index.ts"]);
  expect(demo?.defaults).toEqual({ baseUrl: "https://api.example.com" });
});

describe("a folder that is not a valid template stops the start, naming it", () => {
  const rows: [string, Record<string, unknown>, RegExp][] = [
    ["no template.json", { "index.ts": INDEX }, /demo: template\.json cannot be read/],
    [
      "template.json that is not JSON",
      { "template.json": "{ id: demo", "index.ts": INDEX },
      /template\.json cannot be read/,
    ],
    [
      "an id that is not the folder's",
      { "template.json": { ...VALID, id: "other" }, "index.ts": INDEX },
      /says id "other", not the folder's name/,
    ],
    ["no index.ts", { "template.json": VALID }, /there is no index\.ts/],
    [
      "an egress host that is no host",
      { "template.json": { ...VALID, egress: ["https://api.example.com"] }, "index.ts": INDEX },
      /egress/,
    ],
    [
      "a secret listed twice",
      { "template.json": { ...VALID, secrets: [VALID.secrets[0], VALID.secrets[0]] }, "index.ts": INDEX },
      /a secret is listed twice/,
    ],
    [
      "a secret without howToGet",
      { "template.json": { ...VALID, secrets: [{ name: "K", description: "d", required: false }] }, "index.ts": INDEX },
      /howToGet/,
    ],
    ["an unknown field", { "template.json": { ...VALID, colour: "red" }, "index.ts": INDEX }, /colour/],
  ];
  it.each(rows)("%s", (_name, files, message) => {
    const dir = gallery(files);
    expect(() => loadCatalogue(dir)).toThrow(message);
    expect(() => loadCatalogue(dir)).toThrow(join(dir, "demo"));
  });
});

it("config.ts holds the settings as data: no value turns into code", async () => {
  const values = {
    quotes: `"'\`\${process.exit(1)}\``,
    comment: "*/ throw new Error('escaped') /*",
    separators: "line\u2028paragraph\u2029end",
    nested: [{ a: null, b: true, c: 1.5e-7 }],
  };
  const files = templateFiles(template("faq"), values);
  const file = join(root, `config-${++count}.ts`);
  writeFileSync(file, files["config.ts"] as string);
  const loaded = await import(pathToFileURL(file).href);
  expect(loaded.default).toEqual({ ...template("faq").defaults, ...values });
});
