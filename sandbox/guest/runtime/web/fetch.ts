// fetch, Headers and Response. Requests go to the host, which applies the server's egress
// policy (approved hosts, public addresses, caps) and answers through the bridge.
import { requestHost } from "../bridge.ts";
import { type GuestFetchResponse, HOST_OPS } from "../protocol.ts";
import type { AbortSignal } from "./abort.ts";
import { DOMException } from "./abort.ts";
import { base64ToBytes, bytesToBase64 } from "./base64.ts";
import { TextDecoder, TextEncoder } from "./encoding.ts";
import { URL, URLSearchParams } from "./url.ts";

type HeadersInit = Headers | Record<string, string> | [string, string][];
type BodyInit = string | Uint8Array | ArrayBuffer | URLSearchParams;

const VALID_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class Headers {
  #map = new Map<string, string>();

  constructor(init?: HeadersInit) {
    if (init instanceof Headers) for (const [k, v] of init) this.append(k, v);
    else if (Array.isArray(init)) for (const [k, v] of init) this.append(k, v);
    else if (init) for (const [k, v] of Object.entries(init)) this.append(k, v);
  }
  #name(name: string): string {
    const lower = String(name).toLowerCase();
    if (!VALID_NAME.test(lower)) throw new TypeError(`Invalid header name: ${String(name).slice(0, 100)}`);
    return lower;
  }
  append(name: string, value: string): void {
    const key = this.#name(name);
    const existing = this.#map.get(key);
    this.#map.set(key, existing === undefined ? String(value).trim() : `${existing}, ${String(value).trim()}`);
  }
  delete(name: string): void {
    this.#map.delete(this.#name(name));
  }
  get(name: string): string | null {
    return this.#map.get(this.#name(name)) ?? null;
  }
  has(name: string): boolean {
    return this.#map.has(this.#name(name));
  }
  set(name: string, value: string): void {
    this.#map.set(this.#name(name), String(value).trim());
  }
  forEach(callback: (value: string, name: string, headers: Headers) => void): void {
    for (const [k, v] of this) callback(v, k, this);
  }
  entries(): IterableIterator<[string, string]> {
    return [...this.#map.entries()].sort(([a], [b]) => (a < b ? -1 : 1))[Symbol.iterator]();
  }
  keys(): IterableIterator<string> {
    return [...this.entries()].map(([k]) => k)[Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return [...this.entries()].map(([, v]) => v)[Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** A body's bytes, copied: changing the caller's array afterwards does not change the body. */
function bodyBytes(body: BodyInit | null | undefined): Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof URLSearchParams) return new TextEncoder().encode(body.toString());
  if (body instanceof Uint8Array) return body.slice();
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  throw new TypeError("a body must be a string, Uint8Array, ArrayBuffer or URLSearchParams");
}

/** The Content-Type a body implies when none is given, as the Fetch standard has it. */
function impliedContentType(body: BodyInit | null | undefined): string | undefined {
  if (typeof body === "string") return "text/plain;charset=UTF-8";
  if (body instanceof URLSearchParams) return "application/x-www-form-urlencoded;charset=UTF-8";
  return undefined;
}

/** Gives a response from the host its (fresh) bytes without another copy. */
let adoptBody: (response: Response, bytes: Uint8Array) => void;

export class Response {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected: boolean;
  #body: Uint8Array;
  #used = false;

  static {
    adoptBody = (response, bytes) => {
      response.#body = bytes;
    };
  }

  constructor(
    body?: BodyInit | null,
    init: { status?: number; statusText?: string; headers?: HeadersInit } = {},
    meta: { url?: string; redirected?: boolean } = {},
  ) {
    this.#body = bodyBytes(body) ?? new Uint8Array();
    this.status = init.status ?? 200;
    this.statusText = init.statusText ?? "";
    this.headers = new Headers(init.headers);
    const type = impliedContentType(body);
    if (type && !this.headers.has("content-type")) this.headers.set("content-type", type);
    this.url = meta.url ?? "";
    this.redirected = meta.redirected ?? false;
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#used) throw new TypeError("Body has already been consumed.");
    this.#used = true;
    return this.#body as Uint8Array<ArrayBuffer>;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

export async function fetch(
  input: string | URL,
  init: { method?: string; headers?: HeadersInit; body?: BodyInit | null; signal?: AbortSignal } = {},
): Promise<Response> {
  const signal = init.signal;
  signal?.throwIfAborted();
  const url = new URL(String(input)).href;
  const headers = new Headers(init.headers);
  const type = impliedContentType(init.body);
  if (type && !headers.has("content-type")) headers.set("content-type", type);
  const body = bodyBytes(init.body);
  const request = requestHost(HOST_OPS.fetch, {
    request: {
      url,
      method: String(init.method ?? "GET").toUpperCase(),
      headers: [...headers],
      ...(body ? { body: bytesToBase64(body) } : {}),
    },
  }) as Promise<GuestFetchResponse>;
  // An abort rejects at once; the host's answer, when it comes, is dropped.
  let onAbort: (() => void) | undefined;
  const aborted = signal
    ? new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason ?? new DOMException("aborted", "AbortError"));
        signal.addEventListener("abort", onAbort, { once: true });
      })
    : undefined;
  let answer: GuestFetchResponse;
  try {
    answer = await (aborted ? Promise.race([request, aborted]) : request);
  } catch (error) {
    if (error instanceof Error && error.name !== "AbortError" && error.name !== "TimeoutError") {
      throw new TypeError(`fetch failed: ${error.message}`);
    }
    throw error;
  } finally {
    // A signal that outlives this fetch does not keep it alive.
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
  const response = new Response(
    null,
    { status: answer.status, statusText: answer.statusText, headers: answer.headers },
    { url: answer.url, redirected: answer.redirected },
  );
  adoptBody(response, base64ToBytes(answer.body));
  return response;
}
