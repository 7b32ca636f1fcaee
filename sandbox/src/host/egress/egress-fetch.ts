import { lookup } from "node:dns/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { TRANSPORT_HEADERS } from "@isola/schema";
import { EgressError, egressError } from "./errors.ts";
import { type CheckedUrl, checkAddress, checkUrl, type EgressPolicy } from "./policy.ts";

export type { EgressPolicy } from "./policy.ts";

export interface EgressRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body?: Uint8Array;
}

export interface EgressResponse {
  url: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Uint8Array;
  redirected: boolean;
}

export type Resolve = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export interface EgressOptions {
  /** The DNS boundary; tests inject a table. */
  resolve?: Resolve;
  /** Cancellation (the MCP client went away). */
  signal?: AbortSignal;
  /** Trusted roots instead of Node's defaults; tests trust a self-signed server with it. */
  caCertificates?: string[];
}

const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true, order: "verbatim" })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// TRANSPORT_HEADERS (schema) are dropped silently, as browsers do, because SDKs set some of
// them (content-length, connection) out of habit.
const HOP_BY_HOP = new Set([...TRANSPORT_HEADERS, "proxy-authenticate", "proxy-authorization", "proxy-connection"]);
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];
const BODY_HEADERS = ["content-type", "content-encoding", "content-language", "content-location"];

/**
 * Performs one HTTP(S) request for tool code under the server's egress policy: every URL (the
 * first and each redirect) is checked, every resolved address is checked, and the connection
 * goes to a checked address with no second resolution (so DNS rebinding cannot swap it).
 * Fails only with EgressError.
 */
export async function egressFetch(
  request: EgressRequest,
  policy: EgressPolicy,
  options: EgressOptions = {},
): Promise<EgressResponse> {
  const limits = {
    timeoutMs: policy.timeoutMs ?? 10_000,
    maxResponseBytes: policy.maxResponseBytes ?? 5 * 1024 * 1024,
    maxRequestBytes: policy.maxRequestBytes ?? 1024 * 1024,
    maxRedirects: policy.maxRedirects ?? 5,
  };
  const deadline = startDeadline(limits.timeoutMs, options.signal);
  let host = "the server";
  try {
    if (deadline.signal.aborted) throw deadline.signal.reason;
    let method = checkMethod(request.method, request.body);
    let headers = requestHeaders(request.headers);
    let body = request.body;
    if (body !== undefined && body.byteLength > limits.maxRequestBytes) {
      throw egressError("EGRESS_REQUEST_TOO_LARGE", [body.byteLength, limits.maxRequestBytes]);
    }
    let target = checkUrl(request.url, policy);
    for (let redirects = 0; ; redirects++) {
      host = target.hostname;
      const addresses = await resolveChecked(target, options.resolve ?? systemResolve, policy, deadline.signal);
      const reply = await exchange({ target, method, headers, body, addresses, limits }, options, deadline.signal);
      if (reply.location === undefined) {
        const url = new URL(target.url);
        url.hash = "";
        return { ...reply.response, url: url.href, redirected: redirects > 0 };
      }
      if (redirects >= limits.maxRedirects) throw egressError("EGRESS_TOO_MANY_REDIRECTS", [limits.maxRedirects]);
      let next: string;
      try {
        next = new URL(reply.location, target.url).href;
      } catch {
        throw egressError("EGRESS_BAD_URL", [`${target.hostname} redirected to an invalid URL`]);
      }
      const previous = target;
      target = checkUrl(next, policy);
      // As fetch does: 303 turns anything but HEAD into GET, 301/302 turn POST into GET.
      const status = reply.response.status;
      if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        headers = headers.filter(([name]) => !BODY_HEADERS.includes(name));
      }
      if (previous.url.origin !== target.url.origin) {
        headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.includes(name));
      }
    }
  } catch (error) {
    // The deadline or the caller's signal wins over whatever error the abort caused.
    if (deadline.signal.aborted) throw deadline.signal.reason;
    throw wrapError(error, host);
  } finally {
    deadline.dispose();
  }
}

/** One signal for the whole exchange: the caller's abort, or the timeout (DNS, connect, TLS, redirects, body). */
function startDeadline(timeoutMs: number, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(egressError("EGRESS_TIMEOUT", [timeoutMs])), timeoutMs);
  const onAbort = () => controller.abort(egressError("EGRESS_ABORTED", []));
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}

const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

function checkMethod(raw: string, body: Uint8Array | undefined): string {
  const method = NORMALIZED_METHODS.has(raw.toUpperCase()) ? raw.toUpperCase() : raw;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) {
    throw egressError("EGRESS_BAD_METHOD", ["the method is not a valid HTTP token"]);
  }
  if (["CONNECT", "TRACE", "TRACK"].includes(method.toUpperCase())) {
    throw egressError("EGRESS_BAD_METHOD", [`the method ${method} is not allowed`]);
  }
  if (body !== undefined && (method === "GET" || method === "HEAD")) {
    throw egressError("EGRESS_BAD_METHOD", [`a ${method} request cannot have a body`]);
  }
  return method;
}

/** Validated, lowercase, transport headers dropped, defaults added. Values are never put in messages. */
function requestHeaders(raw: [string, string][]): [string, string][] {
  const headers: [string, string][] = [];
  for (const [rawName, rawValue] of raw) {
    const name = rawName.toLowerCase();
    const value = rawValue.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    try {
      http.validateHeaderName(name);
    } catch {
      const shown = JSON.stringify(rawName.slice(0, 64));
      throw egressError("EGRESS_BAD_HEADER", [`the header name ${shown} is not a valid HTTP token`]);
    }
    try {
      http.validateHeaderValue(name, value);
    } catch {
      throw egressError("EGRESS_BAD_HEADER", [
        `the value of the header "${name}" has a character HTTP does not allow (a line break, a control character or one above U+00FF)`,
      ]);
    }
    if (TRANSPORT_HEADERS.has(name) || name.startsWith("proxy-")) continue;
    headers.push([name, value]);
  }
  const has = (name: string) => headers.some(([n]) => n === name);
  if (!has("user-agent")) headers.push(["user-agent", "isola-fetch/1"]);
  // We decompress nothing, so ask for nothing compressed; a tenant that asks gets the bytes as sent.
  if (!has("accept-encoding")) headers.push(["accept-encoding", "identity"]);
  return headers;
}

/** Resolves once and checks every address: one refused address refuses the name (no public+private mix). */
async function resolveChecked(
  target: CheckedUrl,
  resolve: Resolve,
  policy: EgressPolicy,
  signal: AbortSignal,
): Promise<{ address: string; family: 4 | 6 }[]> {
  const { hostname } = target;
  let addresses: { address: string; family: 4 | 6 }[];
  if (target.ipLiteral !== 0) {
    addresses = [{ address: hostname, family: target.ipLiteral }];
  } else {
    try {
      addresses = await untilAborted(resolve(hostname), signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw egressError("EGRESS_DNS_FAILED", [hostname, dnsReason(error)], { cause: error });
    }
    if (!Array.isArray(addresses) || addresses.length === 0)
      throw egressError("EGRESS_DNS_FAILED", [hostname, "no addresses"]);
  }
  for (const { address } of addresses) {
    const verdict = checkAddress(address, policy.allowPrivateNetworks ?? false);
    if (!verdict.allowed) {
      throw egressError("EGRESS_ADDRESS_REFUSED", [hostname, address, verdict.description, verdict.lanOnly]);
    }
  }
  return addresses;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

interface Hop {
  target: CheckedUrl;
  method: string;
  headers: [string, string][];
  body: Uint8Array | undefined;
  addresses: { address: string; family: 4 | 6 }[];
  limits: { maxResponseBytes: number };
}

type Reply =
  | { location: string; response: { status: number } }
  | { location?: undefined; response: Omit<EgressResponse, "url" | "redirected"> };

/** One request/response over a fresh connection to a checked address. */
function exchange(hop: Hop, options: EgressOptions, signal: AbortSignal): Promise<Reply> {
  const { target, limits } = hop;
  const host = target.hostname;
  // Node connects through this instead of its resolver, so the socket can only reach what we
  // checked; TLS still sends SNI for and verifies the certificate against the hostname.
  const pinned: LookupFunction = (_name, lookupOptions, callback) => {
    const [first] = hop.addresses;
    if (lookupOptions.all) callback(null, hop.addresses);
    else if (first) callback(null, first.address, first.family);
  };
  // No prototype: a header named "constructor" or "__proto__" is just a header.
  const headers: Record<string, string> = Object.create(null);
  for (const [name, value] of hop.headers) headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  if (hop.body !== undefined || ["POST", "PUT", "PATCH"].includes(hop.method)) {
    headers["content-length"] = String(hop.body?.byteLength ?? 0);
  }
  const requestOptions: https.RequestOptions = {
    host,
    port: target.url.port === "" ? undefined : Number(target.url.port),
    path: `${target.url.pathname}${target.url.search}`,
    method: hop.method,
    headers,
    // A fresh connection per request: a pooled socket would outlive the address check it passed.
    agent: false,
    lookup: target.ipLiteral === 0 ? pinned : undefined,
    ca: options.caCertificates,
  };

  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<Reply>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      outcome();
    };
    const fail = (error: unknown) =>
      finish(() => {
        request.destroy();
        reject(signal.aborted ? signal.reason : wrapError(error, host));
      });
    const onAbort = () => fail(signal.reason);
    const client = target.url.protocol === "https:" ? https : http;
    const request = client.request(requestOptions, (response) => {
      const status = response.statusCode ?? 0;
      const head = { status, statusText: response.statusMessage ?? "", headers: responseHeaders(response.rawHeaders) };
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        finish(() => {
          request.destroy();
          resolve({ location, response: head });
        });
        return;
      }
      if (Number(response.headers["content-length"]) > limits.maxResponseBytes) {
        fail(egressError("EGRESS_RESPONSE_TOO_LARGE", [host, limits.maxResponseBytes]));
        return;
      }
      // Counted as it streams: the cap holds however the server frames (or lies about) the body.
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > limits.maxResponseBytes)
          fail(egressError("EGRESS_RESPONSE_TOO_LARGE", [host, limits.maxResponseBytes]));
        else chunks.push(chunk);
      });
      response.on("error", fail);
      // The server hung up before the body was complete (no "end" came first).
      response.on("close", () => fail(Object.assign(new Error("premature close"), { code: "ECONNRESET" })));
      response.on("end", () => finish(() => resolve({ response: { ...head, body: concat(chunks, size) } })));
    });
    request.on("error", fail);
    signal.addEventListener("abort", onAbort, { once: true });
    request.end(hop.body);
  });
}

/** A fresh buffer: Buffer.concat may hand out a slice of Node's shared pool, which must not reach a tenant. */
function concat(chunks: Buffer[], size: number): Uint8Array {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Lowercase pairs, repeated headers (set-cookie) kept, hop-by-hop headers and those Connection names dropped. */
function responseHeaders(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([(raw[i] ?? "").toLowerCase(), raw[i + 1] ?? ""]);
  const named = pairs
    .filter(([name]) => name === "connection")
    .flatMap(([, value]) => value.split(",").map((token) => token.trim().toLowerCase()));
  return pairs.filter(([name]) => !HOP_BY_HOP.has(name) && !named.includes(name));
}

const TLS_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "the certificate is self-signed and not trusted",
  SELF_SIGNED_CERT_IN_CHAIN: "the certificate chain ends in an untrusted self-signed root",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the certificate's issuer is not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the certificate's issuer is not trusted",
  CERT_HAS_EXPIRED: "the certificate has expired",
  CERT_NOT_YET_VALID: "the certificate is not valid yet",
  ERR_TLS_CERT_ALTNAME_INVALID: "the certificate is not valid for this hostname",
};

const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "the connection timed out",
  EPIPE: "the connection was closed while sending",
};

/** Node's errors become catalogue errors; the original stays as `cause` for the host's logs. */
function wrapError(error: unknown, host: string): EgressError {
  if (error instanceof EgressError) return error;
  const code = errorCode(error);
  if (TLS_REASONS[code] !== undefined || /CERT|SSL|TLS/.test(code)) {
    const reason = TLS_REASONS[code] ?? "the handshake or the certificate was refused";
    return egressError("EGRESS_TLS_FAILED", [host, `${reason} (${code})`], { cause: error });
  }
  if (code.startsWith("HPE_")) return egressError("EGRESS_BAD_RESPONSE", [host, code], { cause: error });
  const reason = CONNECT_REASONS[code] ?? "the connection failed";
  return egressError("EGRESS_CONNECT_FAILED", [host, code === "" ? reason : `${reason} (${code})`], { cause: error });
}

function dnsReason(error: unknown): string {
  const code = errorCode(error);
  if (code === "ENOTFOUND") return "no such host (ENOTFOUND)";
  if (code === "EAI_AGAIN") return "the DNS server did not answer (EAI_AGAIN)";
  return code === "" ? "the lookup failed" : `the lookup failed (${code})`;
}

/** The error's code when it is a plain token (never a free-form message, which may echo input). */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? code : "";
}
