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

function bodyBytes(body: BodyInit | null | undefined): Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof URLSearchParams) return new TextEncoder().encode(body.toString());
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("fetch body must be a string, Uint8Array, ArrayBuffer or URLSearchParams");
}

export class Response {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly redirected: boolean;
  #body: Uint8Array;
  #used = false;

  constructor(
    body?: BodyInit | null,
    init: { status?: number; statusText?: string; headers?: HeadersInit } = {},
    meta: { url?: string; redirected?: boolean } = {},
  ) {
    this.#body = bodyBytes(body) ?? new Uint8Array();
    this.status = init.status ?? 200;
    this.statusText = init.statusText ?? "";
    this.headers = new Headers(init.headers);
    this.url = meta.url ?? "";
    this.redirected = meta.redirected ?? false;
  }
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  async bytes(): Promise<Uint8Array> {
    if (this.#used) throw new TypeError("Body has already been consumed.");
    this.#used = true;
    return this.#body;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
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
  if (init.body instanceof URLSearchParams && !headers.has("content-type")) {
    headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
  } else if (typeof init.body === "string" && !headers.has("content-type")) {
    headers.set("content-type", "text/plain;charset=UTF-8");
  }
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
  const aborted = signal
    ? new Promise<never>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason ?? new DOMException("aborted", "AbortError")), {
          once: true,
        }),
      )
    : undefined;
  let answer: GuestFetchResponse;
  try {
    answer = await (aborted ? Promise.race([request, aborted]) : request);
  } catch (error) {
    if (error instanceof Error && error.name !== "AbortError" && error.name !== "TimeoutError") {
      throw new TypeError(`fetch failed: ${error.message}`);
    }
    throw error;
  }
  return new Response(
    base64ToBytes(answer.body),
    { status: answer.status, statusText: answer.statusText, headers: answer.headers },
    { url: answer.url, redirected: answer.redirected },
  );
}
