import { execFile } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { type AddressInfo, isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EgressPolicy, type EgressRequest, egressFetch, type Resolve } from "../src/host/egress/egress-fetch.ts";
import { EgressError } from "../src/host/egress/errors.ts";

// Real HTTP and HTTPS servers on 127.0.0.1; names reach them through a stub resolver (the DNS
// boundary). The only servers a test can reach are on loopback, so the cases that must succeed
// allow private networks; the refusals of private addresses run with the default (off).

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const seen: Seen[] = [];
const serverEvents = new EventEmitter();
let connections = 0;
let lookups: string[] = [];
let dir = "";
let cert = "";
let httpsPort = 0;
let httpPort = 0;
let closedPort = 0;
const servers: http.Server[] = [];

const names: Record<string, string[]> = {
  "api.example.test": ["127.0.0.1"],
  "redirect.example.test": ["127.0.0.1"],
  "other.example.test": ["127.0.0.1"],
  "unlisted.example.test": ["127.0.0.1"],
  "private.example.test": ["10.0.0.5"],
  "mixed.example.test": ["8.8.8.8", "10.0.0.5"],
  "metadata.example.test": ["169.254.169.254"],
};
const resolve: Resolve = async (hostname) => {
  lookups.push(hostname);
  const addresses = names[hostname];
  if (addresses === undefined)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
};

async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString();
  seen.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers, body });
  const url = new URL(request.url ?? "/", "http://server");
  response.on("close", () => serverEvents.emit(`closed:${url.pathname}`));
  const chain = /^\/chain\/(\d+)$/.exec(url.pathname);
  if (url.pathname === "/echo") {
    const headers = ["content-type", "application/json", "set-cookie", "a=1", "set-cookie", "b=2"];
    headers.push("x-hop", "1", "connection", "x-hop", "keep-alive", "timeout=5");
    response.writeHead(200, "Fine", headers).end(JSON.stringify({ method: request.method, body }));
  } else if (url.pathname === "/redirect") {
    response.writeHead(Number(url.searchParams.get("status")), { location: url.searchParams.get("to") ?? "" }).end();
  } else if (chain) {
    const n = Number(chain[1]);
    if (n === 0) response.end("done");
    else response.writeHead(302, { location: `/chain/${n - 1}` }).end();
  } else if (url.pathname === "/big") {
    response.writeHead(200);
    const timer = setInterval(() => response.write(Buffer.alloc(16 * 1024, 120)), 5);
    response.on("close", () => clearInterval(timer));
  } else if (url.pathname === "/declared") {
    response.writeHead(200, { "content-length": 10_000_000 }).write("x");
  } else if (url.pathname === "/stall") {
    response.writeHead(200).write("first", () => serverEvents.emit("stalled"));
  } else {
    response.writeHead(404).end();
  }
}

async function listen(server: http.Server): Promise<number> {
  servers.push(server);
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "isola-egress-"));
  const [key, crt] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  await promisify(execFile)("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
    ...["-subj", "/CN=api.example.test", "-addext", "subjectAltName=DNS:api.example.test,DNS:redirect.example.test"],
    ...["-keyout", key, "-out", crt],
  ]);
  cert = await readFile(crt, "utf8");
  httpsPort = await listen(https.createServer({ key: await readFile(key), cert }, handle));
  httpPort = await listen(http.createServer(handle));
  const closed = http.createServer();
  closedPort = await listen(closed);
  await new Promise((done) => closed.close(done));
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
  connections = 0;
  lookups = [];
});

const lan: EgressPolicy = {
  allowedHosts: ["api.example.test", "redirect.example.test", "other.example.test", "metadata.example.test"],
  allowPrivateNetworks: true,
};
const api = (path: string) => `https://api.example.test:${httpsPort}${path}`;
const text = (body: Uint8Array) => new TextDecoder().decode(body);

function send(
  url: string,
  init: Partial<EgressRequest> = {},
  policy: Partial<EgressPolicy> = {},
  options: { signal?: AbortSignal; caCertificates?: string[]; resolve?: Resolve } = {},
) {
  const request = { url, method: "GET", headers: [], ...init };
  return egressFetch(request, { ...lan, ...policy }, { resolve, caCertificates: [cert], ...options });
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<EgressError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(EgressError);
  return error as EgressError;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms));
  return Promise.race([promise, timeout]);
}

describe("an allowed request", () => {
  it("round-trips a GET: status, headers (hop-by-hop dropped, set-cookie kept), body, user-agent, one lookup", async () => {
    const response = await send(api("/echo"));
    expect(response).toMatchObject({ url: api("/echo"), status: 200, statusText: "Fine", redirected: false });
    expect(JSON.parse(text(response.body))).toEqual({ method: "GET", body: "" });
    expect(response.headers.filter(([name]) => name === "set-cookie")).toEqual([
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    expect(response.headers).toContainEqual(["content-type", "application/json"]);
    const names = response.headers.map(([name]) => name);
    for (const hop of ["connection", "keep-alive", "x-hop"]) expect(names).not.toContain(hop);
    expect(seen[0]?.headers).toMatchObject({
      host: `api.example.test:${httpsPort}`,
      "user-agent": "isola-fetch/1",
      "accept-encoding": "identity",
    });
    expect(lookups).toEqual(["api.example.test"]);
  });

  it("round-trips a POST body with a computed content-length, dropping transport headers tenant code set", async () => {
    const headers: [string, string][] = [
      ["Content-Type", "text/plain"],
      ["User-Agent", "tool/2"],
      ["Host", "internal.example"],
      ["Content-Length", "999"],
      ["Connection", "keep-alive"],
      ["Transfer-Encoding", "chunked"],
      ["Proxy-Authorization", "Basic eDp5"],
      ["Expect", "100-continue"],
      ["Upgrade", "websocket"],
      ["TE", "trailers"],
      ["Keep-Alive", "timeout=5"],
      ["Constructor", "not Object"],
    ];
    const body = new TextEncoder().encode("héllo");
    const response = await send(api("/echo"), { method: "post", headers, body });
    expect(JSON.parse(text(response.body))).toEqual({ method: "POST", body: "héllo" });
    const received = seen[0]?.headers ?? {};
    expect(received).toMatchObject({
      host: `api.example.test:${httpsPort}`,
      "content-length": "6",
      "content-type": "text/plain",
      "user-agent": "tool/2",
      connection: "close",
      constructor: "not Object",
    });
    for (const name of ["transfer-encoding", "proxy-authorization", "expect", "upgrade", "te", "keep-alive"]) {
      expect(received).not.toHaveProperty(name);
    }
  });

  it("uses plain http for a host the operator allows it for", async () => {
    const response = await send(
      `http://api.example.test:${httpPort}/echo`,
      {},
      { allowHttpHosts: ["api.example.test"] },
    );
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(1);
  });
});

describe("refused before any connection", () => {
  const strict = { allowPrivateNetworks: false };
  const only = (host: string) => ({ ...strict, allowedHosts: [host] });
  // [URL ({https}, {http}: the servers' ports), policy, code without EGRESS_, message]
  const rows: [string, Partial<EgressPolicy>, string, RegExp][] = [
    ["https://unlisted.example.test:{https}/", {}, "HOST_NOT_ALLOWED", /"unlisted\.example\.test" is not in/],
    ["http://api.example.test:{http}/echo", {}, "SCHEME_REFUSED", /plain http to api\.example\.test/],
    ["https://127.0.0.1:{https}/", only("127.0.0.1"), "ADDRESS_REFUSED", /127\.0\.0\.1 is in 127\.0\.0\.0\/8/],
    ["https://[::1]:{https}/", only("::1"), "ADDRESS_REFUSED", /::1 is in ::1\/128 \(loopback\)/],
    ["https://10.0.0.1/", only("10.0.0.1"), "ADDRESS_REFUSED", /10\.0\.0\.1 is in 10\.0\.0\.0\/8/],
    // Metadata stays refused with private networks allowed (the default of these tests).
    ["https://169.254.169.254/", { allowedHosts: ["169.254.169.254"] }, "ADDRESS_REFUSED", /metadata/],
    ["https://private.example.test/", only("private.example.test"), "ADDRESS_REFUSED", /resolves to 10\.0\.0\.5/],
    // Resolves to 8.8.8.8 and 10.0.0.5: one refused address refuses the name.
    ["https://mixed.example.test/", only("mixed.example.test"), "ADDRESS_REFUSED", /resolves to 10\.0\.0\.5/],
    ["https://nowhere.example.test/", only("nowhere.example.test"), "DNS_FAILED", /no such host/],
  ];
  it.each(rows)("refuses %s (%j): %s", async (url, policy, code, message) => {
    const target = url.replace("{https}", String(httpsPort)).replace("{http}", String(httpPort));
    // A short timeout: a wrong implementation that connects to the public address fails fast.
    const error = await failure(send(target, {}, { timeoutMs: 2000, ...policy }));
    expect(error).toMatchObject({ code: `EGRESS_${code}`, message: expect.stringMatching(message) });
    expect([seen.length, connections]).toEqual([0, 0]);
  });

  it.each([
    ["a big body", { method: "POST", body: new Uint8Array(2048) }, "EGRESS_REQUEST_TOO_LARGE", /2048 bytes, over/],
    ["a CONNECT request", { method: "CONNECT" }, "EGRESS_BAD_METHOD", /CONNECT is not allowed/],
    ["a GET with a body", { body: new Uint8Array(1) }, "EGRESS_BAD_METHOD", /GET request cannot have a body/],
  ])("refuses %s", async (_what, init, code, message) => {
    const error = await failure(send(api("/echo"), init, { maxRequestBytes: 1024 }));
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
    expect([seen.length, connections]).toEqual([0, 0]);
  });

  it("does not resolve IP literals", async () => {
    await failure(send("https://10.0.0.1/", {}, { allowPrivateNetworks: false, allowedHosts: ["10.0.0.1"] }));
    expect(lookups).toEqual([]);
  });

  it.each([
    ["x-a\r\nx-b", "v"],
    ["x bad", "v"],
    ["", "v"],
    ["x-ok", "s3cret\r\nx-injected: 1"],
    ["x-ok", "s3cret\u0000"],
    ["x-ok", "s3cret\u20ac"],
  ])("refuses the header %j: %j, without echoing its value", async (name, value) => {
    const error = await failure(send(api("/echo"), { headers: [[name, value]] }));
    expect(error.code).toBe("EGRESS_BAD_HEADER");
    expect(error.message).not.toMatch(/s3cret|injected/);
    expect([seen.length, connections]).toEqual([0, 0]);
  });
});

describe("redirects", () => {
  const redirect = (status: number, to: string) => api(`/redirect?status=${status}&to=${encodeURIComponent(to)}`);

  it("follows a chain up to the limit and reports the final URL", async () => {
    const response = await send(api("/chain/5"));
    expect(response).toMatchObject({ url: api("/chain/0"), status: 200, redirected: true });
    expect(text(response.body)).toBe("done");
    expect(seen.map((request) => request.path)).toEqual([5, 4, 3, 2, 1, 0].map((n) => `/chain/${n}`));
  });

  it("fails past the limit", async () => {
    const error = await failure(send(api("/chain/6")));
    expect(error).toMatchObject({ code: "EGRESS_TOO_MANY_REDIRECTS", message: expect.stringMatching(/more than 5/) });
    expect(seen).toHaveLength(6);
  });

  // [status, method, method after, body and content-type kept]
  it.each([
    [303, "POST", "GET", false],
    [303, "PUT", "GET", false],
    [301, "POST", "GET", false],
    [302, "POST", "GET", false],
    [302, "PUT", "PUT", true],
    [307, "POST", "POST", true],
    [308, "PUT", "PUT", true],
  ] as const)("%s after %s continues with %s", async (status, method, after, kept) => {
    const headers: [string, string][] = [["content-type", "text/plain"]];
    const body = new TextEncoder().encode("payload");
    await send(redirect(status, api("/echo")), { method, headers, body });
    expect(seen[1]).toMatchObject({ method: after, body: kept ? "payload" : "" });
    expect(seen[1]?.headers["content-type"]).toBe(kept ? "text/plain" : undefined);
  });

  it.each([
    ["keeps", "the same origin", () => api("/echo"), true],
    ["drops", "another origin", () => `https://redirect.example.test:${httpsPort}/echo`, false],
  ])("%s credentials on a redirect to %s", async (_verb, _where, to, kept) => {
    const headers: [string, string][] = [
      ["authorization", "Bearer t0ken"],
      ["cookie", "session=1"],
      ["x-trace", "abc"],
    ];
    const response = await send(redirect(302, to()), { headers });
    expect(response.redirected).toBe(true);
    const received = seen[1]?.headers ?? {};
    expect([received.authorization, received.cookie]).toEqual(
      kept ? ["Bearer t0ken", "session=1"] : [undefined, undefined],
    );
    expect(received["x-trace"]).toBe("abc");
  });

  // Private networks are allowed here (the first hop is on loopback), so the private-address
  // case is the metadata service, which stays refused even then.
  it.each([
    ["a host that is not approved", () => `https://unlisted.example.test:${httpsPort}/echo`, "EGRESS_HOST_NOT_ALLOWED"],
    [
      "a name resolving to the metadata address",
      () => `https://metadata.example.test:${httpsPort}/`,
      "EGRESS_ADDRESS_REFUSED",
    ],
    ["the metadata address", () => "https://[::ffff:169.254.169.254]/", "EGRESS_ADDRESS_REFUSED"],
    ["plain http (a downgrade)", () => `http://api.example.test:${httpPort}/echo`, "EGRESS_SCHEME_REFUSED"],
    ["a file: URL", () => "file:///etc/passwd", "EGRESS_SCHEME_REFUSED"],
  ])("refuses a redirect to %s", async (_what, to, code) => {
    const error = await failure(
      send(redirect(302, to()), {}, { allowedHosts: [...lan.allowedHosts, "::ffff:a9fe:a9fe"] }),
    );
    expect(error.code).toBe(code);
    expect(seen).toHaveLength(1);
  });
});

describe("limits and cancellation", () => {
  it.each(["/big", "/declared"])("fails a response over the cap (%s) and closes the connection", async (path) => {
    const closed = once(serverEvents, `closed:${path}`);
    const error = await failure(send(api(path), {}, { maxResponseBytes: 64 * 1024 }));
    expect(error).toMatchObject({ code: "EGRESS_RESPONSE_TOO_LARGE", message: expect.stringMatching(/65536 bytes/) });
    await within(closed, 2000);
  });

  it("times out on a server that stalls mid-body, and closes the connection", async () => {
    const closed = once(serverEvents, "closed:/stall");
    const started = Date.now();
    const error = await failure(send(api("/stall"), {}, { timeoutMs: 300 }));
    expect(error).toMatchObject({ code: "EGRESS_TIMEOUT", message: expect.stringMatching(/300 ms/) });
    expect(Date.now() - started).toBeLessThan(2000);
    await within(closed, 2000);
  });

  it("times out while resolving", async () => {
    const hang: Resolve = () => new Promise(() => {});
    const error = await failure(send(api("/echo"), {}, { timeoutMs: 200 }, { resolve: hang }));
    expect(error.code).toBe("EGRESS_TIMEOUT");
  });

  it("aborts mid-body when the signal fires, and closes the connection", async () => {
    const controller = new AbortController();
    const closed = once(serverEvents, "closed:/stall");
    serverEvents.once("stalled", () => controller.abort());
    const error = await failure(send(api("/stall"), {}, {}, { signal: controller.signal }));
    expect(error.code).toBe("EGRESS_ABORTED");
    await within(closed, 2000);
  });

  it("does nothing for a signal already aborted", async () => {
    const error = await failure(send(api("/echo"), {}, {}, { signal: AbortSignal.abort() }));
    expect(error.code).toBe("EGRESS_ABORTED");
    expect([lookups.length, connections]).toEqual([0, 0]);
  });
});

describe("connection failures", () => {
  it("refuses a certificate that is not trusted, with a TLS error", async () => {
    const error = await failure(send(api("/echo"), {}, {}, { caCertificates: undefined }));
    expect(error).toMatchObject({
      code: "EGRESS_TLS_FAILED",
      message: expect.stringMatching(/api\.example\.test.*self-signed/),
    });
    expect(seen).toHaveLength(0);
  });

  it("verifies the certificate against the hostname, not the address it connected to", async () => {
    const error = await failure(send(`https://other.example.test:${httpsPort}/echo`));
    expect(error).toMatchObject({
      code: "EGRESS_TLS_FAILED",
      message: expect.stringMatching(/not valid for this hostname/),
    });
  });

  it("wraps a refused connection", async () => {
    const error = await failure(send(`https://api.example.test:${closedPort}/`));
    expect(error).toMatchObject({
      code: "EGRESS_CONNECT_FAILED",
      message: expect.stringMatching(/connection refused \(ECONNREFUSED\)/),
    });
  });
});
