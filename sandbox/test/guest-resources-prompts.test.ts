import type { Artifact } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantIsolate } from "../src/host/tenant-isolate.ts";
import { callOptions, fixture, loadServer } from "./support/load-server.ts";

// resources/read and prompts/get through the isolate, and what the manifest says of them.

let artifact: Artifact;
let isolate: TenantIsolate;
beforeAll(async () => {
  ({ artifact, isolate } = await loadServer(await fixture("guest-resources-prompts.ts")));
});
afterAll(() => isolate?.dispose());

const read = (uri: string) => isolate.readResource(uri, callOptions());
const get = (name: string, args: Record<string, string> = {}) => isolate.getPrompt(name, args, callOptions());

describe("reading a resource", () => {
  const rows: [string, string, unknown[]][] = [
    [
      "a string is text contents with the declared mimeType",
      "docs://readme",
      [{ uri: "docs://readme", mimeType: "text/markdown", text: "# Readme" }],
    ],
    [
      "an object is one contents entry, with the declared mimeType",
      "docs://described",
      [{ uri: "docs://described", mimeType: "application/json", text: '{"ok":true}' }],
    ],
    [
      "an array is several contents entries, each keeping its own uri and mimeType",
      "files://parts",
      [
        { uri: "files://parts/1", text: "one" },
        { uri: "files://parts/2", blob: "AAEC", mimeType: "application/octet-stream" },
      ],
    ],
    [
      "a template gets its variables, decoded",
      "notes://my%20folder/%C3%A9t%C3%A9",
      [
        {
          uri: "notes://my%20folder/%C3%A9t%C3%A9",
          mimeType: "text/plain",
          text: "my folder|été|notes://my%20folder/%C3%A9t%C3%A9",
        },
      ],
    ],
  ];
  it.each(rows)("%s", async (_behaviour, uri, contents) => {
    expect(await read(uri)).toEqual({ contents });
  });

  const unknown: [string, string][] = [
    ["a URI no resource declares", "docs://missing"],
    ["a URI a template does not match (a variable is missing)", "notes://only-one"],
    ["a URI a template does not match (a variable spans a /)", "notes://a/b/c"],
    ["a template URI with a malformed %-escape", "notes://folder/%E0%A4%A"],
  ];
  it.each(unknown)("%s is SANDBOX_UNKNOWN_RESOURCE", async (_behaviour, uri) => {
    await expect(read(uri)).rejects.toMatchObject({
      code: "SANDBOX_UNKNOWN_RESOURCE",
      message: `no resource matches ${uri}`,
    });
  });
});

describe("getting a prompt", () => {
  const user = (text: string) => ({ role: "user", content: { type: "text", text } });
  const rows: [string, string, Record<string, string>, unknown][] = [
    [
      "a string is one user message, with the description",
      "greet",
      { name: "Ada" },
      {
        description: "Greets someone",
        messages: [user("Say hello to Ada.")],
      },
    ],
    [
      "an optional argument arrives when given",
      "greet",
      { name: "Ada", tone: "warmly" },
      {
        description: "Greets someone",
        messages: [user("Say hello to Ada, warmly.")],
      },
    ],
    [
      "an array of messages passes through",
      "conversation",
      {},
      {
        messages: [user("What is 2 + 2?"), { role: "assistant", content: { type: "text", text: "4" } }],
      },
    ],
  ];
  it.each(rows)("%s", async (_behaviour, name, args, expected) => {
    expect(await get(name, args)).toEqual(expected);
  });

  it("a missing required argument is SANDBOX_INVALID_ARGUMENTS naming it", async () => {
    await expect(get("greet", { tone: "warmly" })).rejects.toMatchObject({
      code: "SANDBOX_INVALID_ARGUMENTS",
      message: expect.stringMatching(/^invalid arguments: [\s\S]*expected string, received undefined[\s\S]*name/),
    });
  });

  it("an unknown prompt is SANDBOX_UNKNOWN_PROMPT", async () => {
    await expect(get("no_such_prompt")).rejects.toMatchObject({
      code: "SANDBOX_UNKNOWN_PROMPT",
      message: "no prompt named no_such_prompt",
    });
  });
});

describe("the manifest", () => {
  it("lists the resources: name defaults to the key, uriTemplate kept", () => {
    expect(artifact.manifest.resources).toEqual([
      { key: "readme", uri: "docs://readme", name: "readme", mimeType: "text/markdown" },
      {
        key: "described",
        uri: "docs://described",
        name: "Described resource",
        title: "A title",
        description: "A resource with every field",
        mimeType: "application/json",
      },
      { key: "note", uriTemplate: "notes://{folder}/{id}", name: "note", mimeType: "text/plain" },
      { key: "parts", uri: "files://parts", name: "parts" },
    ]);
  });

  it("lists the prompts with their arguments, required flags and descriptions", () => {
    expect(artifact.manifest.prompts).toEqual([
      {
        name: "greet",
        description: "Greets someone",
        arguments: [
          { name: "name", description: "Who to greet", required: true },
          { name: "tone", description: "How to say it", required: false },
        ],
      },
      { name: "conversation", title: "A conversation", arguments: [] },
    ]);
  });

  it("is what describe() answers", async () => {
    expect(await isolate.describe()).toMatchObject({
      resources: artifact.manifest.resources,
      prompts: artifact.manifest.prompts,
    });
  });
});
