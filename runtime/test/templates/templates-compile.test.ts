// Every template of the gallery compiles with the real compiler (files, bundle, types, code rules,
// load in a sandbox, manifest and injection checks), declares exactly the egress hosts and
// secrets its template.json promises, and refuses settings it cannot work with at load time.
import { readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Manifest } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE, startTemplateSandbox, type TemplateSandbox, template } from "./template-sandbox.ts";

const TEMPLATES = new URL("../../../templates/", import.meta.url);
const IDS = ["faq", "github-issues", "http-json", "notion-search", "rss", "weather"];

let sandbox: TemplateSandbox;
beforeAll(async () => {
  sandbox = await startTemplateSandbox();
}, 60_000);
afterAll(async () => {
  await sandbox?.close();
});

it("the gallery holds the six templates, each folder read", () => {
  const folders = readdirSync(TEMPLATES, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  expect(folders.map((folder) => folder.name).sort()).toEqual(IDS);
  expect([...CATALOGUE.keys()]).toEqual(IDS);
});

describe.each(IDS)("the %s template", (id) => {
  let manifest: Manifest;
  beforeAll(async () => {
    const result = await sandbox.compile(id);
    if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
    manifest = result.artifact.manifest;
  }, 60_000);

  it("declares the egress hosts and secrets template.json lists", () => {
    const { manifest: promised } = template(id);
    expect([...manifest.egress].sort()).toEqual([...promised.egress].sort());
    expect([...manifest.secrets].sort()).toEqual(promised.secrets.map((secret) => secret.name).sort());
  });

  it("describes every tool and each of its parameters for a model", () => {
    expect(manifest.tools.length).toBeGreaterThan(0);
    for (const tool of manifest.tools) {
      expect(tool.description.length, tool.name).toBeGreaterThan(40);
      const properties = (tool.inputSchema.properties ?? {}) as Record<string, { description?: string }>;
      for (const [name, property] of Object.entries(properties)) {
        expect(property.description ?? "", `${tool.name}.${name}`).not.toBe("");
      }
    }
  });

  it("ships a config.ts holding the default settings (what tsc -b checks)", async () => {
    const { defaults } = template(id);
    const shipped = await import(pathToFileURL(new URL(`${id}/config.ts`, TEMPLATES).pathname).href);
    expect(shipped.default).toEqual(defaults);
  });
});

describe("settings a template cannot work with fail the load step, naming the setting", () => {
  const rows: [string, Record<string, unknown>, RegExp][] = [
    ["rss", { feeds: [] }, /config\.ts: .*name at least one feed/s],
    ["rss", { feeds: [{ name: "Bad Name", url: "https://feeds.example.com/x" }] }, /lowercase letters/],
    ["rss", { feeds: [{ name: "x", url: "ftp://feeds.example.com/x" }] }, /http\(s\) URL/],
    ["github-issues", { apiUrl: "not a url" }, /apiUrl must be an http\(s\) URL/],
    ["http-json", { methods: ["GET", "TRACE"] }, /methods/],
    ["http-json", { baseUrl: "https://api.example.com/v1?key=1" }, /cannot have a query/],
    ["notion-search", { notionVersion: "latest" }, /notionVersion is a date/],
    ["weather", { forecastUrl: 42 }, /forecastUrl must be an http\(s\) URL/],
    ["faq", { entries: [] }, /give at least one entry/],
    [
      "faq",
      {
        entries: [
          { id: "same", question: "A?", answer: "a" },
          { id: "same", question: "B?", answer: "b" },
        ],
      },
      /two entries have the id same/,
    ],
  ];
  it.each(rows)("%s with %j", async (id, config, message) => {
    const result = await sandbox.compile(id, config);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([expect.objectContaining({ step: "load", message: expect.stringMatching(message) })]);
  });

  it("a host that is no DNS name is refused by the manifest check, not reached", async () => {
    const result = await sandbox.compile("github-issues", { apiUrl: "http://127.0.0.1:8080" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatchObject({ step: "manifest", message: expect.stringMatching(/egress/) });
  });
});

it("settings change what the code declares: the hosts of the feeds a deploy names", async () => {
  const result = await sandbox.compile("rss", {
    feeds: [
      { name: "one", url: "https://feeds.example.com/one.xml" },
      { name: "two", url: "https://feeds.example.com/two.xml" },
      { name: "news", url: "https://hnrss.org/newest" },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  expect(result.artifact.manifest.egress).toEqual(["feeds.example.com", "hnrss.org"]);
});
