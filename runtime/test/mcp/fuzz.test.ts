import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { type Answer, deploySource, initializeRequest, inject, quickDatabase } from "../support/mcp.ts";

// Thousands of generated malformed requests against a deployed server's endpoint, in-process.
// Every answer must be a proper status (2xx/4xx, never 5xx) with a JSON-RPC error or a JSON
// body, within a few seconds; afterwards a valid call still works and nothing was logged as a
// failure. The generator is seeded: a failure names its seed and case, and replays exactly.

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_125);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const TIMEOUT_MS = 5000;

/** mulberry32: small, fast, good enough to spread cases. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Generator {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = random(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  string(maxLength = 20): string {
    const alphabets = [
      "abcdefghijklmnopqrstuvwxyz",
      "0123456789-_/.:",
      " !\"#$%&'()*+,;<=>?@[\\]^`{|}~",
      "\u0000\u0001\u001f\u007f\u2028\u2029",
      "éø漢字🙂\ud800\udfff",
    ];
    let text = "";
    const length = this.int(maxLength + 1);
    for (let i = 0; i < length; i++) {
      const alphabet = this.pick(alphabets);
      text += alphabet[this.int(alphabet.length)];
    }
    return text;
  }
  /** Header values must be visible ASCII (HTTP itself refuses the rest before we see it). */
  headerValue(maxLength = 40): string {
    let text = "";
    const length = this.int(maxLength + 1);
    for (let i = 0; i < length; i++) text += String.fromCharCode(0x20 + this.int(0x5f));
    return text.trim();
  }
  value(depth = 3): unknown {
    const kind = this.int(depth > 0 ? 9 : 6);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, -0, this.int(1000)]);
      case 3:
        return this.string();
      case 4:
        return "";
      case 5:
        return this.pick(["2.0", "ping", "tools/call", "hello", "__proto__", "constructor"]);
      case 6:
      case 7: {
        const object: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--)
          object[this.pick([this.string(8), "name", "arguments", "uri", "cursor", "_meta", "__proto__"])] = this.value(
            depth - 1,
          );
        return object;
      }
      default:
        return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
    }
  }
}

interface FuzzRequest {
  kind: string;
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  body?: string | Buffer;
}

const KNOWN_METHODS = [
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "logging/setLevel",
  "completion/complete",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "sampling/createMessage",
  "elicitation/create",
  "roots/list",
];
const TRICKY_METHODS = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "rpc.discover", ""];

/** The request generators, each a family of malformed input. `session` is a live session's id. */
function generators(g: Generator, session: string) {
  const valid = () => ({ jsonrpc: "2.0", id: g.int(1000), method: "ping" });
  const base = (headers: Record<string, string | undefined> = {}) => ({
    "mcp-session-id": session,
    "mcp-protocol-version": "2025-11-25",
    ...headers,
  });
  const post = (
    kind: string,
    body: string | Buffer,
    headers: Record<string, string | undefined> = {},
  ): FuzzRequest => ({
    kind,
    method: "POST",
    url: "/fuzz/mcp",
    headers: base(headers),
    body,
  });
  const deep = (depth: number, open: string, close: string, leaf = "1") =>
    open.repeat(depth) + leaf + close.repeat(depth);

  return {
    badJson(): FuzzRequest {
      const text = JSON.stringify(g.chance(0.5) ? valid() : initializeRequest());
      const mutations = [
        () => text.slice(0, g.int(text.length)),
        () => text.slice(0, g.int(text.length)) + g.string(3) + text.slice(g.int(text.length)),
        () => text.replace(/"/g, "'"),
        () => `${text.slice(0, -1)},}`,
        () => `/* comment */${text}`,
        () => `\ufeff${text}`,
        () => text.replace("2.0", "NaN").replace(/"NaN"/, "NaN"),
        () => `${text}${text}`,
        () => g.string(50),
        () => Buffer.from(Array.from({ length: g.int(64) }, () => g.int(256))),
        () =>
          Buffer.concat([
            Buffer.from('{"jsonrpc":"2.0","id":1,"method":"'),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('"}'),
          ]),
      ];
      return post("bad-json", g.pick(mutations)());
    },
    shape(): FuzzRequest {
      const message: Record<string, unknown> = g.chance(0.7) ? { jsonrpc: "2.0" } : {};
      for (const field of ["id", "method", "params", "result", "error"])
        if (g.chance(0.5)) message[field] = field === "method" ? g.pick([...KNOWN_METHODS, g.string()]) : g.value();
      const body = g.chance(0.2) ? g.value() : g.chance(0.1) ? [message, message] : message;
      return post("shape", JSON.stringify(body) ?? "null");
    },
    types(): FuzzRequest {
      const id = g.pick([null, true, {}, [], 1.5, -0, 1e308, "", "x".repeat(1000), g.string(), g.int(10)]);
      const method = g.pick([null, 42, "", g.string(), ...KNOWN_METHODS, ...TRICKY_METHODS]);
      const params = g.pick([null, "params", 7, [], [1, 2], {}, g.value(), { name: g.value(), arguments: g.value() }]);
      return post("types", JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    },
    deep(): FuzzRequest {
      const depth = g.pick([64, 1000, 10_000, 100_000, 300_000]);
      const nested = g.chance(0.5) ? deep(depth, "[", "]") : deep(depth, '{"a":', "}");
      const where = g.pick([
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{"name":${nested}}}}`,
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":${nested}}}`,
        `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":${nested}}}`,
        `{"jsonrpc":"2.0","id":${nested},"method":"ping"}`,
        `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":${nested}}}`,
        `{"jsonrpc":"2.0","id":1,"result":${nested}}`,
        nested,
      ]);
      return post("deep", where);
    },
    huge(): FuzzRequest {
      const size = g.pick([10_000, 500_000, 1_000_000, 1_048_000, 1_100_000, 3_000_000]);
      const filler = g.pick(["x", "\\u0000", "é"]).repeat(Math.ceil(size / 2));
      const bodies = [
        () =>
          `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello","arguments":{"name":"${filler}"}}}`,
        () => `{"jsonrpc":"2.0","id":1,"method":"${filler.slice(0, 200_000)}"}`,
        () => `{"jsonrpc":"2.0","id":"${filler}","method":"ping"}`,
        () =>
          JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "ping",
            params: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])),
          }),
        () =>
          JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "tools/call",
            params: { name: "hello", arguments: { name: "a", extra: Array(50_000).fill(1) } },
          }),
      ];
      return post("huge", g.pick(bodies)());
    },
    headers(): FuzzRequest {
      const request = post("headers", JSON.stringify(valid()));
      const mutate: Record<string, () => string | undefined> = {
        accept: () =>
          g.pick([
            undefined,
            "",
            "application/json",
            "text/event-stream",
            "*/*",
            "text/*",
            "image/png",
            g.headerValue(),
          ]),
        "content-type": () =>
          g.pick([
            undefined,
            "",
            "application/json",
            "text/plain",
            "application/json; charset=latin1",
            "application/jsonx",
            "multipart/form-data; boundary=x",
            g.headerValue(),
          ]),
        "mcp-protocol-version": () =>
          g.pick([undefined, "", "2025-06-18", "2024-11-05", "2025-11-25, 2025-06-18", g.headerValue()]),
        origin: () =>
          g.pick([undefined, "null", "https://isola.test", "https://evil.example", "file://", g.headerValue()]),
        "mcp-session-id": () => g.pick([undefined, "", g.headerValue(300)]),
        "last-event-id": () => g.pick([undefined, "", "a:1-0", g.headerValue()]),
        authorization: () => g.pick([undefined, "Bearer", "Bearer x", "Basic Zm9vOmJhcg==", g.headerValue()]),
        "x-api-key": () => g.pick([undefined, g.headerValue()]),
        "content-encoding": () => g.pick([undefined, "gzip", "br", "identity", g.headerValue()]),
      };
      for (const [name, value] of Object.entries(mutate)) if (g.chance(0.35)) request.headers[name] = value();
      request.method = g.pick(["POST", "POST", "POST", "GET", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"]);
      if (request.method === "GET" || request.method === "HEAD") delete request.body;
      // The live session stays alive for the other families (DELETE of a valid session is in http-edges).
      if (request.method === "DELETE" && request.headers["mcp-session-id"] === session)
        request.headers["mcp-session-id"] = `${session}-other`;
      return request;
    },
    sessions(): FuzzRequest {
      const id = g.pick([
        g.headerValue(100),
        "x".repeat(201),
        session.slice(0, -1),
        `${session}x`,
        session.toUpperCase(),
      ]);
      const method = g.pick(["POST", "GET", "DELETE"]);
      return {
        kind: "sessions",
        method,
        url: "/fuzz/mcp",
        headers: {
          "mcp-session-id": id,
          ...(method === "GET" ? { accept: "text/event-stream", "last-event-id": "a:1-0" } : {}),
        },
        ...(method === "POST" ? { body: JSON.stringify(valid()) } : {}),
      };
    },
    versions(): FuzzRequest {
      const initialize = initializeRequest() as { params: Record<string, unknown> };
      initialize.params.protocolVersion = g.pick([g.value(), "2024-11-05", "2025-13-01", "", null]);
      if (g.chance(0.4)) initialize.params.capabilities = g.value();
      if (g.chance(0.4)) initialize.params.clientInfo = g.value();
      return post("versions", JSON.stringify(initialize), {
        "mcp-protocol-version": g.pick([undefined, g.headerValue(12), "2025-06-18"]),
      });
    },
    methods(): FuzzRequest {
      const method = g.pick([...KNOWN_METHODS, ...TRICKY_METHODS, g.string(30)]);
      const params = g.pick([
        () => g.value(),
        () => ({ name: g.pick(["hello", "Hello", "hello ", g.string()]), arguments: g.value() }),
        () => ({ name: "hello", arguments: { name: g.value() } }),
        () => ({ uri: g.pick(["test://x", "", g.string(100)]) }),
        () => ({
          cursor: g.pick([g.string(), "eyJvIjoxfQ", Buffer.from('{"o":-1,"v":"x"}').toString("base64url"), 5]),
        }),
        () => ({ level: g.pick(["debug", "emergency", "verbose", g.value()]) }),
        () => ({ requestId: g.value(), reason: g.value() }),
        () => ({ ref: g.value(), argument: g.value() }),
        () => ({ _meta: { progressToken: g.value() }, name: "hello", arguments: { name: "meta" } }),
      ])();
      const message: Record<string, unknown> = { jsonrpc: "2.0", method };
      if (g.chance(0.85)) message.id = g.pick([g.int(1_000_000), g.string(10) || "id"]);
      if (params !== undefined) message.params = params;
      return post("methods", JSON.stringify(message));
    },
  };
}

/** What every answer must look like. Returns a complaint, or undefined. */
function complaint(request: FuzzRequest, answer: Answer): string | undefined {
  if (answer.status >= 500 && !(answer.status === 503 && answer.json?.jsonrpc)) return `status ${answer.status}`;
  if (answer.status < 200 || (answer.status >= 300 && answer.status < 400)) return `status ${answer.status}`;
  if (request.method === "HEAD") return undefined;
  if (answer.status === 202) return answer.text === "" ? undefined : "202 with a body";
  if (answer.status === 204 || (answer.status === 200 && request.method === "DELETE")) return undefined;
  if (answer.contentType.startsWith("text/event-stream")) {
    const last = answer.events.filter((event) => event.data).at(-1);
    if (!last) return "an SSE answer without a message";
    const message = JSON.parse(last.data);
    return message.jsonrpc === "2.0" && ("result" in message || "error" in message)
      ? undefined
      : "SSE without a response";
  }
  if (!answer.contentType.startsWith("application/json")) return `content type ${answer.contentType || "(none)"}`;
  if (typeof answer.json !== "object" || answer.json === null) return "a body that is not a JSON object";
  const body = answer.json as Record<string, unknown>;
  if (body.jsonrpc === "2.0") {
    if (answer.status >= 400 && !("error" in body)) return "a refusal without a JSON-RPC error";
    if ("error" in body) {
      const error = body.error as { code?: unknown; message?: unknown };
      if (!Number.isInteger(error.code) || typeof error.message !== "string") return "a malformed JSON-RPC error";
      if (error.code === -32603) return `internal error: ${error.message}`;
    } else if (typeof body.result !== "object" || body.result === null) return "a result that is not an object";
    return undefined;
  }
  // Fastify's own refusals before any route (bad URL, unsupported method on a path): JSON too.
  if (answer.status >= 400 && typeof body.message === "string") return undefined;
  return "a JSON body that is neither a JSON-RPC message nor an error";
}

describe("fuzzing the MCP endpoint", () => {
  let api: Api;
  let session: string;
  const dir = mkdtempSync(join(tmpdir(), "isola-fuzz-"));

  beforeAll(async () => {
    // A plan whose rate limit the fuzzer does not reach: the point is every other answer.
    const plans = join(dir, "plans.json");
    writeFileSync(
      plans,
      JSON.stringify([
        {
          id: "default",
          name: "Fuzz",
          maxServers: 10,
          callsPerMonth: 10_000_000,
          memoryMb: 64,
          rateLimitPerMinute: 100_000,
        },
      ]),
    );
    api = await startApi(quickDatabase(), { ISOLA_PLANS_FILE: plans });
    await deploySource(api.admin, "fuzz", HELLO_SOURCE);
    const opened = await inject(api.app, "/fuzz/mcp", { body: JSON.stringify(initializeRequest()) });
    session = opened.headers["mcp-session-id"] as string;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${CASES} malformed requests properly (seed ${SEED})`, async () => {
    const g = new Generator(SEED);
    // Megabyte bodies take tens of milliseconds each: fewer of them, so that the file stays fast.
    const weights: Record<string, number> = { huge: 0.2, deep: 0.4 };
    const families = Object.entries(generators(g, session)).flatMap(([family, generate]) =>
      Array.from({ length: Math.round((weights[family] ?? 1) * 5) }, () => [family, generate] as const),
    );
    const failures: string[] = [];
    const seen = new Map<string, Set<number>>();
    for (let n = 0; n < CASES; n++) {
      const [family, generate] = g.pick(families);
      const request = generate();
      const answered = inject(api.app, request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), TIMEOUT_MS);
      });
      const answer = await Promise.race([answered, timeout]).finally(() => clearTimeout(timer));
      const problem = answer === "timeout" ? "no answer within 5 s" : complaint(request, answer);
      if (answer !== "timeout") {
        const statuses = seen.get(family) ?? new Set();
        statuses.add(answer.status);
        seen.set(family, statuses);
      }
      if (problem) {
        const body = request.body === undefined ? "" : String(request.body).slice(0, 200);
        const got = answer === "timeout" ? "" : answer.text.slice(0, 200);
        failures.push(
          `#${n} ${family} ${request.method} ${JSON.stringify(request.headers)} ${body} -> ${problem} ${got}`,
        );
        if (failures.length >= 10) break;
      }
    }
    expect(failures).toEqual([]);
    // The families reached different parts of the endpoint (not all refused at the same door).
    const statuses = new Set([...seen.values()].flatMap((set) => [...set]));
    for (const status of [200, 202, 400, 404, 406, 413, 415]) expect(statuses).toContain(status);
  }, 60_000);

  it("still answers a valid call afterwards, and logged no failure", async () => {
    const opened = await inject(api.app, "/fuzz/mcp", { body: JSON.stringify(initializeRequest()) });
    expect(opened.status).toBe(200);
    const session = opened.headers["mcp-session-id"] as string;
    const call = await inject(api.app, "/fuzz/mcp", {
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "hello", arguments: { name: "after" } },
      }),
      headers: { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
    });
    expect(call.status).toBe(200);
    expect(call.json.result.content[0].text).toBe("Hello, after!");
    const failures = api.logs
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } })
      .filter((line) => line.level >= 50)
      .map((line) => `${line.msg}: ${line.err?.message ?? ""}`);
    expect(failures).toEqual([]);
  });
});
