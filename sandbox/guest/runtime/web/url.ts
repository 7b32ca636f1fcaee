// URL through the host's WHATWG parser (V8 has none); URLSearchParams in plain JavaScript.
import { callHost } from "../bridge.ts";
import { HOST_OPS, type UrlPart, type UrlParts } from "../protocol.ts";
import { TextDecoder, TextEncoder } from "./encoding.ts";

type Part = UrlPart;
type Parts = UrlParts;

function parseOnHost(url: string, base?: string, set?: [Part, string]): Parts | undefined {
  const answer = callHost(HOST_OPS.parseUrl, { url, base, set });
  return answer ? (JSON.parse(answer) as Parts) : undefined;
}

// application/x-www-form-urlencoded, as the WHATWG URL standard writes and reads it.
const encode = (text: string) =>
  encodeURIComponent(String(text).toWellFormed()) // a lone surrogate becomes U+FFFD, not a URIError
    .replace(/%20/g, "+")
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const isHex = (byte: number | undefined) =>
  byte !== undefined &&
  ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** "+" is a space; a %XX escape is a byte; other text stays; bytes that are not UTF-8 become U+FFFD. */
const decode = (text: string) => {
  const spaced = text.replace(/\+/g, " ");
  if (!spaced.includes("%")) return spaced;
  const bytes = new TextEncoder().encode(spaced);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte === 0x25 && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
      out.push(Number.parseInt(String.fromCharCode(bytes[i + 1] as number, bytes[i + 2] as number), 16));
      i += 2;
    } else out.push(byte);
  }
  return utf8.decode(new Uint8Array(out));
};

export class URLSearchParams {
  #entries: [string, string][] = [];
  #onChange: (() => void) | undefined;

  constructor(init: string | Record<string, string> | [string, string][] | URLSearchParams = "") {
    if (typeof init === "string") this._parse(init);
    else if (init instanceof URLSearchParams) this.#entries = [...init.entries()];
    else if (Array.isArray(init)) this.#entries = init.map(([k, v]) => [String(k), String(v)]);
    else this.#entries = Object.entries(init).map(([k, v]) => [k, String(v)]);
  }
  /** Re-reads a query string (used by URL when its search changes). */
  _parse(query: string): void {
    const text = query.startsWith("?") ? query.slice(1) : query;
    this.#entries = text
      .split("&")
      .filter(Boolean)
      .map((pair) => {
        const i = pair.indexOf("=");
        return i < 0 ? [decode(pair), ""] : [decode(pair.slice(0, i)), decode(pair.slice(i + 1))];
      });
  }
  _onChange(listener: () => void): void {
    this.#onChange = listener;
  }
  #changed(): void {
    this.#onChange?.();
  }
  get size(): number {
    return this.#entries.length;
  }
  append(name: string, value: string): void {
    this.#entries.push([String(name), String(value)]);
    this.#changed();
  }
  delete(name: string): void {
    this.#entries = this.#entries.filter(([k]) => k !== name);
    this.#changed();
  }
  get(name: string): string | null {
    return this.#entries.find(([k]) => k === name)?.[1] ?? null;
  }
  getAll(name: string): string[] {
    return this.#entries.filter(([k]) => k === name).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.#entries.some(([k]) => k === name);
  }
  set(name: string, value: string): void {
    const i = this.#entries.findIndex(([k]) => k === name);
    if (i < 0) this.#entries.push([String(name), String(value)]);
    else {
      // Entries before i have other names, so i survives the filter at the same index.
      this.#entries = this.#entries.filter(([k], j) => k !== name || j === i);
      this.#entries[i] = [String(name), String(value)];
    }
    this.#changed();
  }
  sort(): void {
    this.#entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#changed();
  }
  forEach(callback: (value: string, name: string) => void): void {
    for (const [k, v] of this.#entries) callback(v, k);
  }
  entries(): IterableIterator<[string, string]> {
    return this.#entries.map(([k, v]) => [k, v] as [string, string])[Symbol.iterator]();
  }
  keys(): IterableIterator<string> {
    return this.#entries.map(([k]) => k)[Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return this.#entries.map(([, v]) => v)[Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  toString(): string {
    return this.#entries.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&");
  }
}

export class URL {
  #parts: Parts;
  #searchParams: URLSearchParams;

  constructor(url: string | URL, base?: string | URL) {
    const parts = parseOnHost(String(url), base === undefined ? undefined : String(base));
    if (!parts) throw new TypeError(`Invalid URL: ${String(url).slice(0, 200)}`);
    this.#parts = parts;
    this.#searchParams = new URLSearchParams(parts.search);
    this.#searchParams._onChange(() => {
      const query = this.#searchParams.toString();
      this.#set("search", query ? `?${query}` : "");
    });
  }
  static canParse(url: string, base?: string | URL): boolean {
    return parseOnHost(String(url), base === undefined ? undefined : String(base)) !== undefined;
  }
  static parse(url: string, base?: string | URL): URL | null {
    return URL.canParse(url, base) ? new URL(url, base) : null;
  }
  /** Setting a part re-parses on the host, as the WHATWG setters would. */
  #set(part: Part, value: string): void {
    const parts = parseOnHost(this.#parts.href, undefined, [part, String(value)]);
    // Only the href setter throws on a bad value; the others leave the URL as it was.
    if (!parts && part === "href") throw new TypeError(`Invalid URL: ${String(value).slice(0, 200)}`);
    if (parts) this.#parts = parts;
    if (part === "search" || part === "href") this.#searchParams._parse(this.#parts.search);
  }
  get href() {
    return this.#parts.href;
  }
  set href(v: string) {
    this.#set("href", v);
  }
  get protocol() {
    return this.#parts.protocol;
  }
  set protocol(v: string) {
    this.#set("protocol", v);
  }
  get username() {
    return this.#parts.username;
  }
  set username(v: string) {
    this.#set("username", v);
  }
  get password() {
    return this.#parts.password;
  }
  set password(v: string) {
    this.#set("password", v);
  }
  get host() {
    return this.#parts.host;
  }
  set host(v: string) {
    this.#set("host", v);
  }
  get hostname() {
    return this.#parts.hostname;
  }
  set hostname(v: string) {
    this.#set("hostname", v);
  }
  get port() {
    return this.#parts.port;
  }
  set port(v: string) {
    this.#set("port", v);
  }
  get pathname() {
    return this.#parts.pathname;
  }
  set pathname(v: string) {
    this.#set("pathname", v);
  }
  get search() {
    return this.#parts.search;
  }
  set search(v: string) {
    this.#set("search", v);
  }
  get hash() {
    return this.#parts.hash;
  }
  set hash(v: string) {
    this.#set("hash", v);
  }
  get origin(): string {
    return this.#parts.origin;
  }
  get searchParams(): URLSearchParams {
    return this.#searchParams;
  }
  toString(): string {
    return this.#parts.href;
  }
  toJSON(): string {
    return this.#parts.href;
  }
}
