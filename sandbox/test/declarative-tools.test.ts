import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CompileDiagnostic, DeclarativeServerInput, Manifest, ServerSource } from "@isola/schema";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compileServer } from "../src/compiler/compile.ts";
import { DECLARATIVE_FILE } from "../src/declarative/generate.ts";
import type { LlmRequest } from "../src/host/llm.ts";
import { type Harness, SHARD_WITH_DNS_STUB, startHarness } from "./support/sandbox-harness.ts";

// Declarative tools compiled by the real compiler and called in a real sandbox shard. The http
// kind reaches an https upstream on loopback: "loopback.example.test" resolves to 127.0.0.1 in
// the shard (its DNS stub) and the test's self-signed certificate for that name is trusted
// through NODE_EXTRA_CA_CERTS, which the shard processes inherit.

const HOST = "loopback.example.test";
const EGRESS = { allowedHosts: [HOST], allowPrivateNetworks: true };

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
let seen: Seen[] = [];
let upstream: Server;
let origin = "";
let dir = "";
let harness: Harness;
const artifacts = new Map<string, string>();
const llmRequests: LlmRequest[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "isola-declarative-"));
  const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  await promisify(execFile)("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
    ...["-subj", `/CN=${HOST}`, "-addext", `subjectAltName=DNS:${HOST}`, "-keyout", key, "-out", cert],
  ]);
  upstream = createServer({ key: await readFile(key), cert: await readFile(cert) }, async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    seen.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
    const path = new URL(request.url ?? "/", "https://x").pathname;
    if (path === "/fail") response.writeHead(500, { "content-type": "text/plain" }).end(`broken ${"x".repeat(2000)}`);
    else if (path === "/text") response.writeHead(200, { "content-type": "text/plain" }).end("plain words");
    else {
      const json = { data: { path, query: new URL(request.url ?? "/", "https://x").search, body } };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(json));
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  origin = `https://${HOST}:${(upstream.address() as AddressInfo).port}`;
  // Read by each shard process as it starts.
  process.env.NODE_EXTRA_CA_CERTS = cert;
  harness = await startHarness({
    shards: 1,
    entry: SHARD_WITH_DNS_STUB,
    loadArtifact: async (_serverId, hash) => artifacts.get(hash) ?? Promise.reject(new Error(`no artifact ${hash}`)),
    llm: async (request) => {
      llmRequests.push(request);
      return { text: `answer to: ${request.prompt}`, usage: { inputTokens: 12, outputTokens: 5 } };
    },
  });
});

afterAll(async () => {
  await harness?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  llmRequests.length = 0;
});

async function build(
  files: ServerSource,
  declarative?: DeclarativeServerInput,
): Promise<
  { ok: true; server: { id: string; hash: string }; manifest: Manifest } | { ok: false; errors: CompileDiagnostic[] }
> {
  const result = await compileServer(files, { describe: (bundle) => harness.supervisor.describe(bundle) }, declarative);
  if (!result.ok) return result;
  artifacts.set(result.artifact.hash, result.artifact.bundle);
  return {
    ok: true,
    server: { id: `srv-${result.artifact.hash.slice(0, 8)}`, hash: result.artifact.hash },
    manifest: result.artifact.manifest,
  };
}

async function deploy(files: ServerSource, declarative?: DeclarativeServerInput) {
  const built = await build(files, declarative);
  if (!built.ok) throw new Error(`compile failed: ${JSON.stringify(built.errors, null, 1)}`);
  return built;
}

type Result = { content: { type: string; text: string }[]; structuredContent?: unknown; isError?: boolean };
const call = (server: { id: string; hash: string }, tool: string, args: unknown, env: Record<string, string> = {}) =>
  harness.call(server, tool, args, { env, egress: EGRESS }) as Promise<Result>;

const TOOLS = (): DeclarativeServerInput["tools"] => [
  { kind: "static", name: "faq", description: "The FAQ", result: "Open 9 to 5." },
  { kind: "static", name: "limits", description: "Plan limits", result: { calls: 100, plans: ["free"] } },
  {
    kind: "http",
    name: "get_item",
    description: "Gets an item",
    params: {
      id: { type: "string", description: "the item" },
      page: { type: "integer", required: false },
      q: { type: "string", required: false },
    },
    request: {
      url: `${origin}/items/{id}?v=1`,
      headers: { Authorization: "Bearer {secret.API_KEY}", "X-Query": "{q}" },
      query: { page: "{page}", q: "{q}" },
    },
    response: { pointer: "/data" },
  },
  {
    kind: "http",
    name: "create_item",
    description: "Creates an item",
    params: { name: { type: "string" }, count: { type: "integer" }, urgent: { type: "boolean", required: false } },
    request: {
      method: "POST",
      url: `${origin}/items`,
      body: { name: "item {name}", count: "{count}", urgent: "{urgent}" },
    },
    response: { pointer: "/data/body" },
  },
  { kind: "http", name: "broken", description: "Fails upstream", request: { url: `${origin}/fail` } },
  { kind: "http", name: "words", description: "Plain text", request: { url: `${origin}/text` } },
  {
    kind: "http",
    name: "words_at",
    description: "Plain text with a pointer",
    request: { url: `${origin}/text` },
    response: { pointer: "/a" },
  },
  {
    kind: "http",
    name: "missing_at",
    description: "A pointer to nothing",
    request: { url: `${origin}/json` },
    response: { pointer: "/data/nothing/here" },
  },
  {
    kind: "prompt",
    name: "summarize",
    description: "Summarizes a text",
    params: { text: { type: "string" }, style: { type: "string", enum: ["short", "long"] } },
    template: "Summarize {{{text}}} in a {style} way.",
    system: "You write {style} summaries.",
    maxTokens: 300,
  },
];

describe("a declarative-only server", () => {
  let server: { id: string; hash: string };
  let manifest: Manifest;
  beforeAll(async () => {
    ({ server, manifest } = await deploy({}, { name: "declared", description: "Only data", tools: TOOLS() }));
  });

  it("declares its tools, the secrets its templates name and its URL's host as egress", () => {
    expect(manifest).toMatchObject({
      name: "declared",
      description: "Only data",
      secrets: ["API_KEY"],
      egress: [HOST],
    });
    expect(manifest.tools.map((t) => t.name)).toEqual(TOOLS().map((t) => t.name));
    const getItem = manifest.tools.find((t) => t.name === "get_item");
    expect(getItem?.inputSchema).toMatchObject({
      properties: { id: { type: "string", description: "the item" }, page: { type: "integer" } },
      required: ["id"],
    });
  });

  it("static: text, and JSON as structured content", async () => {
    expect(await call(server, "faq", {})).toEqual({ content: [{ type: "text", text: "Open 9 to 5." }] });
    expect(await call(server, "limits", {})).toEqual({
      content: [{ type: "text", text: '{"calls":100,"plans":["free"]}' }],
      structuredContent: { calls: 100, plans: ["free"] },
    });
  });

  it("http: path encoded, query mapped, secret in a header, the pointed-at value returned", async () => {
    const result = await call(server, "get_item", { id: "a/b c?", page: 2, q: "x&y" }, { API_KEY: "k-123" });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({ path: "/items/a%2Fb%20c%3F", query: "?v=1&page=2&q=x%26y", body: "" });
    expect(seen[0]?.headers).toMatchObject({ authorization: "Bearer k-123", "x-query": "x&y" });
  });

  it("http: an absent optional parameter leaves out its query entry and header", async () => {
    await call(server, "get_item", { id: "7" }, { API_KEY: "k" });
    expect(seen[0]?.url).toBe("/items/7?v=1");
    expect(seen[0]?.headers["x-query"]).toBeUndefined();
  });

  it("http: a JSON body, exact placeholders keeping their type and absent ones left out", async () => {
    const result = await call(server, "create_item", { name: "pen", count: 3 });
    expect(seen[0]?.method).toBe("POST");
    expect(seen[0]?.headers["content-type"]).toBe("application/json");
    expect(result.content).toEqual([{ type: "text", text: '{"name":"item pen","count":3}' }]);
  });

  it("http: upstream 500 is a tool error with the status and a bounded excerpt", async () => {
    const result = await call(server, "broken", {});
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(
      /^loopback\.example\.test answered 500 Internal Server Error: broken x+\.\.\.$/,
    );
    expect(result.content[0]?.text.length).toBeLessThan(600);
  });

  it("http: text without a pointer is returned as text; with one it is a tool error", async () => {
    expect(await call(server, "words", {})).toEqual({ content: [{ type: "text", text: "plain words" }] });
    const pointed = await call(server, "words_at", {});
    expect(pointed.isError).toBe(true);
    expect(pointed.content[0]?.text).toBe('the response is not JSON, so "/a" cannot be read from it: plain words');
  });

  it("http: a pointer to nothing is a tool error", async () => {
    const result = await call(server, "missing_at", {});
    expect(result).toMatchObject({
      isError: true,
      content: [{ text: 'the response has no value at "/data/nothing/here"' }],
    });
  });

  it("http: a missing secret is a tool error that says how to set it, and nothing is sent", async () => {
    const result = await call(server, "get_item", { id: "1" });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toBe(
      "the secret API_KEY is not set: set it for this server (isola secrets set <server> API_KEY)",
    );
    expect(seen).toEqual([]);
  });

  it.each([
    ["a missing required parameter", { page: 1 }, /^Invalid arguments: .*id/s],
    ["a parameter of the wrong type", { id: "1", page: "two" }, /^Invalid arguments: .*page/s],
    ["a path segment that climbs", { id: ".." }, /^"\.\." cannot be a value in a URL path$/],
  ])("http: %s is a tool error and nothing is sent", async (_, args, message) => {
    const result = await call(server, "get_item", args, { API_KEY: "k" });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(message);
    expect(seen).toEqual([]);
  });

  it("prompt: fills the template and the system prompt and asks ctx.llm", async () => {
    const result = await call(server, "summarize", { text: "the text", style: "short" });
    expect(llmRequests).toEqual([
      { prompt: "Summarize {the text} in a short way.", system: "You write short summaries.", maxTokens: 300 },
    ]);
    expect(result).toEqual({ content: [{ type: "text", text: "answer to: Summarize {the text} in a short way." }] });
  });

  it("prompt: a value outside the enum is a tool input error, and the model is not asked", async () => {
    const result = await call(server, "summarize", { text: "t", style: "epic" });
    expect(result.isError).toBe(true);
    expect(llmRequests).toEqual([]);
  });
});

describe("declarative tools beside code", () => {
  const CODE = `import { defineServer, tool, z } from "isola";
defineServer({
  name: "mixed",
  secrets: ["OWN_KEY"],
  egress: ["api.example.com"],
  tools: {
    shout: tool({ description: "Shouts", input: z.object({ text: z.string() }), run: ({ text }) => text.toUpperCase() }),
  },
});
`;

  it("merges the tools, secrets and egress hosts of both, and calls each", async () => {
    const declared = TOOLS().filter((t) => t.name === "faq" || t.name === "get_item");
    const { server, manifest } = await deploy({ "index.ts": CODE }, { name: "ignored", tools: declared });
    expect(manifest.name).toBe("mixed");
    expect(manifest.tools.map((t) => t.name)).toEqual(["shout", "faq", "get_item"]);
    expect(manifest.secrets).toEqual(["OWN_KEY", "API_KEY"]);
    expect(manifest.egress).toEqual(["api.example.com", HOST]);
    expect(await call(server, "shout", { text: "hi" })).toEqual({ content: [{ type: "text", text: "HI" }] });
    expect(await call(server, "faq", {})).toEqual({ content: [{ type: "text", text: "Open 9 to 5." }] });
    const item = await call(server, "get_item", { id: "9" }, { API_KEY: "k", OWN_KEY: "o" });
    expect(item.structuredContent).toMatchObject({ path: "/items/9" });
  });

  it("keeps the code's entry when it is not index.ts", async () => {
    const { manifest } = await deploy({ "server.ts": CODE }, { name: "x", tools: TOOLS().slice(0, 1) });
    expect(manifest.tools.map((t) => t.name)).toEqual(["shout", "faq"]);
  });

  it("refuses a tool defined in both, naming it", async () => {
    const clash = await build(
      { "index.ts": CODE },
      {
        name: "x",
        tools: [{ kind: "static", name: "shout", description: "Also shouts", result: "HI" }],
      },
    );
    expect(clash.ok).toBe(false);
    if (!clash.ok) {
      expect(clash.errors).toHaveLength(1);
      expect(clash.errors[0]).toMatchObject({ step: "load" });
      expect(clash.errors[0]?.message).toContain(
        'defineServer(): the tool "shout" is defined both in the code and as a declarative tool; rename one of them',
      );
    }
  });

  it("refuses names that differ only by case, as for code", async () => {
    const clash = await build(
      { "index.ts": CODE },
      {
        name: "x",
        tools: [{ kind: "static", name: "SHOUT", description: "Also shouts", result: "HI" }],
      },
    );
    expect(clash.ok ? [] : clash.errors.map((e) => [e.step, e.message])).toEqual([
      ["manifest", "tool SHOUT: the name is used twice (names must differ ignoring case)"],
    ]);
  });

  it("refuses a file that takes the generated module's name", async () => {
    const result = await build(
      { "index.ts": CODE, [DECLARATIVE_FILE]: "export {};" },
      { name: "x", tools: TOOLS().slice(0, 1) },
    );
    expect(result.ok ? [] : result.errors.map((e) => [e.step, e.file])).toEqual([["files", DECLARATIVE_FILE]]);
  });
});

describe("a declarative part that does not validate", () => {
  it("stops the build at the declarative step, every problem with its path", async () => {
    const result = await build(
      {},
      {
        name: "bad",
        tools: [
          { kind: "http", name: "a", description: "d", request: { url: "http://api.example.com/{x}" } },
          { kind: "prompt", name: "b", description: "d", template: "{secret.KEY}" },
        ],
      },
    );
    expect(result.ok ? [] : result.errors.map((e) => [e.step, e.message])).toEqual([
      ["declarative", "tools.0 (a).request.url: {x} is not a declared parameter (the tool declares no parameters)"],
      ["declarative", "tools.0 (a).request.url: the URL must start with https://"],
      ["declarative", "tools.1 (b).template: {secret.KEY}: secrets may be used only in http headers and query"],
    ]);
  });

  it("is refused even when it is not an object", async () => {
    const result = await build({}, "tools" as unknown as DeclarativeServerInput);
    expect(result.ok ? [] : result.errors.map((e) => e.step)).toEqual(["declarative"]);
  });
});
