// The http-json template in a real sandbox, wrapping a fake JSON API on loopback at
// api.example.com (which resolves there): paths stay under the base URL, the API_AUTH secret
// goes in the configured header, and every way the API can answer badly is a clear tool error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./fake-upstream.ts";
import { type Deployed, startTemplateSandbox, type TemplateSandbox, textOf } from "./template-sandbox.ts";

let sandbox: TemplateSandbox;
let upstream: Upstream;
let api: Deployed;
let base: string;
const ENV = { API_AUTH: "sk_test_51HxYz" };
const USER = {
  id: 1,
  name: "Leanne Graham",
  username: "Bret",
  address: { street: "Kulas Light", city: "Gwenborough", geo: { lat: "-37.3159", lng: "81.1496" } },
  tags: ["admin", "ops/eu"],
};

beforeAll(async () => {
  [sandbox, upstream] = await Promise.all([startTemplateSandbox(), startUpstream()]);
  base = `http://api.example.com:${upstream.port}/v1`;
  api = await sandbox.deploy("http-json", {
    baseUrl: base,
    authHeader: "X-API-Key",
    methods: ["GET", "POST", "DELETE"],
  });
  upstream.on("GET", "/v1/users/1", { body: USER });
}, 60_000);
afterAll(async () => {
  await Promise.all([sandbox?.close(), upstream?.close()]);
});

it("with the default settings it offers only get_json, for the demo API", async () => {
  const compiled = await sandbox.compile("http-json");
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  expect(compiled.artifact.manifest.tools.map((tool) => tool.name)).toEqual(["get_json"]);
  expect(compiled.artifact.manifest.egress).toEqual(["jsonplaceholder.typicode.com"]);
});

it("with write methods allowed it offers send_json for exactly those", () => {
  const send = api.artifact.manifest.tools.find((tool) => tool.name === "send_json");
  expect((send?.inputSchema.properties as Record<string, { enum?: string[] }> | undefined)?.method?.enum).toEqual([
    "POST",
    "DELETE",
  ]);
  expect(send?.annotations).toMatchObject({ destructiveHint: true });
});

describe("get_json", () => {
  it("GETs a path under the base URL with the query, sending the secret in the configured header", async () => {
    const result = await api.call(
      "get_json",
      { path: "/users/1", query: { expand: "address", page: 2, all: true } },
      ENV,
    );
    expect(result.structuredContent).toEqual({
      status: 200,
      url: `${base}/users/1?expand=address&page=2&all=true`,
      data: USER,
    });
    const sent = upstream.last("/v1/users/1");
    expect(sent.headers["x-api-key"]).toBe(ENV.API_AUTH);
    expect(sent.headers.authorization).toBeUndefined();
  });

  it("picks a part of the answer with a JSON pointer (~1 is a slash)", async () => {
    const city = await api.call("get_json", { path: "/users/1", pick: "/address/city" });
    expect(city.structuredContent).toMatchObject({ data: "Gwenborough" });
    const tag = await api.call("get_json", { path: "/users/1", pick: "/tags/1" });
    expect(tag.structuredContent).toMatchObject({ data: "ops/eu" });
    expect(upstream.last("/v1/users/1").headers["x-api-key"]).toBeUndefined();
  });

  it("says what a pointer did not find", async () => {
    const result = await api.call("get_json", { path: "/users/1", pick: "/address/zip" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('the answer has nothing at /address/zip (no "zip")');
  });

  it.each(["/../admin", "/%2e%2e/admin", "/users/../../admin"])(
    "refuses %s, which leads outside the base URL",
    async (path) => {
      const before = upstream.requests.length;
      const result = await api.call("get_json", { path });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(`the path ${path} leads outside ${base}`);
      expect(upstream.requests.length).toBe(before);
    },
  );
});

describe("send_json", () => {
  it("POSTs a JSON body and returns the API's answer", async () => {
    upstream.on("POST", "/v1/posts", { status: 201, body: { id: 101, title: "hello" } });
    const result = await api.call(
      "send_json",
      { method: "POST", path: "/posts", body: { title: "hello", userId: 1 } },
      ENV,
    );
    expect(result.structuredContent).toEqual({ status: 201, url: `${base}/posts`, data: { id: 101, title: "hello" } });
    const sent = upstream.last("/v1/posts");
    expect(sent.method).toBe("POST");
    expect(sent.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(sent.body)).toEqual({ title: "hello", userId: 1 });
  });

  it("answers null for an empty answer (a DELETE's 204)", async () => {
    upstream.on("DELETE", "/v1/posts/101", { status: 204, body: "" });
    const result = await api.call("send_json", { method: "DELETE", path: "/posts/101" });
    expect(result.structuredContent).toEqual({ status: 204, url: `${base}/posts/101`, data: null });
  });
});

describe("the API's errors become tool errors that say what happened", () => {
  const rows: [string, { status?: number; body: unknown; type?: string }, RegExp][] = [
    [
      "a 404 with a JSON body",
      { status: 404, body: { error: "no such user" } },
      /^the API answered 404 Not Found: \{"error":"no such user"\}$/,
    ],
    ["a 500 without a body", { status: 500, body: "" }, /^the API answered 500 Internal Server Error$/],
    [
      "an HTML page instead of JSON",
      { body: "<!doctype html><h1>Login</h1>", type: "text/html" },
      /^the API answered 200 with something that is not JSON \(text\/html\): <!doctype html><h1>Login<\/h1>$/,
    ],
    [
      "broken JSON",
      { body: '{"id": 1, "name": ', type: "application/json" },
      /^the API answered 200 with something that is not JSON \(application\/json\)/,
    ],
  ];
  it.each(rows)("%s", async (_name, reply, message) => {
    upstream.on("GET", "/v1/flaky", reply);
    const result = await api.call("get_json", { path: "/flaky" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });
});

describe("bad input is refused before anything is sent", () => {
  const rows: [string, string, Record<string, unknown>, RegExp][] = [
    ["a path without a leading slash", "get_json", { path: "users/1" }, /path/],
    ["a query in the path", "get_json", { path: "/users?id=1" }, /without a query/],
    ["a pointer without a leading slash", "get_json", { path: "/users/1", pick: "address" }, /JSON pointer/],
    ["a query value that is an object", "get_json", { path: "/users", query: { filter: { a: 1 } } }, /query/],
    ["a method the settings do not allow", "send_json", { method: "PUT", path: "/posts/1" }, /method/],
  ];
  it.each(rows)("%s", async (_name, tool, args, message) => {
    const before = upstream.requests.length;
    const result = await api.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid arguments/);
    expect(textOf(result)).toMatch(message);
    expect(upstream.requests.length).toBe(before);
  });
});
