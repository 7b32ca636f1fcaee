/**
 * The fixed part of every generated declarative module: guest-API code that runs the three
 * kinds from data. Generated code only adds data (JSON literals) and zod schemas, so what a
 * declarative tool does at call time is this text, the same for every server. It is checked
 * with the module on every compile (types and code rules), and sandbox/test/declarative-*.test.ts
 * run it in a real isolate.
 */
export const HELPERS_SOURCE = String.raw`
import { type CallToolResult, type ToolContext, tool, z } from "isola";

/** A template, parsed at build time: text, a parameter (path: in the URL before "?"), or a secret. */
type Part = { text: string } | { param: string; path?: true } | { secret: string };
type Input = Record<string, unknown>;
/** An http body: a template string, another JSON value, an array or an object (entries, so any key is data). */
type Body = { s: Part[] } | { v: string | number | boolean | null } | { a: Body[] } | { o: [string, Body][] };
interface HttpSpec {
  method: string;
  url: Part[];
  headers: [string, Part[]][];
  query: [string, Part[]][];
  body?: Body;
  pointer?: string;
}
interface PromptSpec {
  template: Part[];
  system?: Part[];
  maxTokens?: number;
}

const EXCERPT_CHARS = 500;

function excerpt(text: string): string {
  return text.length > EXCERPT_CHARS ? text.slice(0, EXCERPT_CHARS) + "..." : text;
}

function failure(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** A value as a result: text as it is, an object also as structured content, anything else as JSON text. */
function asResult(value: unknown): CallToolResult {
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  const text = JSON.stringify(value) ?? "null";
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return { content: [{ type: "text", text }], structuredContent: value as Record<string, unknown> };
  }
  return { content: [{ type: "text", text }] };
}

function secretValue(name: string, ctx: ToolContext): string {
  const value = ctx.env[name];
  if (value === undefined || value === "") {
    throw new Error("the secret " + name + " is not set: set it for this server (isola secrets set <server> " + name + ")");
  }
  return value;
}

/** The parameter a template consists of, when it is exactly one: its value keeps its type, or is left out. */
function soleParam(parts: Part[]): string | undefined {
  const only = parts.length === 1 ? parts[0] : undefined;
  return only !== undefined && "param" in only ? only.param : undefined;
}

const raw = (value: string) => value;

function inPath(value: string): string {
  // Encoding does not help here: URL parsers read "%2e%2e" as ".." too.
  if (value === "." || value === "..") throw new Error('"' + value + '" cannot be a value in a URL path');
  return encodeURIComponent(value);
}

function fill(parts: Part[], input: Input, ctx: ToolContext, encode: (value: string) => string): string {
  let out = "";
  for (const part of parts) {
    if ("text" in part) out += part.text;
    else if ("secret" in part) out += encode(secretValue(part.secret, ctx));
    else {
      const value = input[part.param];
      if (value !== undefined) out += part.path ? inPath(String(value)) : encode(String(value));
    }
  }
  return out;
}

function bodyValue(node: Body, input: Input, ctx: ToolContext): unknown {
  if ("s" in node) {
    const sole = soleParam(node.s);
    return sole === undefined ? fill(node.s, input, ctx, raw) : input[sole];
  }
  if ("v" in node) return node.v;
  if ("a" in node) return node.a.map((item) => bodyValue(item, input, ctx) ?? null);
  const out: Record<string, unknown> = {};
  for (const [key, item] of node.o) {
    const value = bodyValue(item, input, ctx);
    // defineProperty: a key like "__proto__" is data here, as it was in the JSON.
    if (value !== undefined) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** RFC 6901. */
function atPointer(doc: unknown, pointer: string): { found: boolean; value?: unknown } {
  if (pointer === "") return { found: true, value: doc };
  let node = doc;
  for (const escaped of pointer.slice(1).split("/")) {
    const token = escaped.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) return { found: false };
      node = node[Number(token)];
    } else if (node !== null && typeof node === "object" && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else return { found: false };
  }
  return { found: true, value: node };
}

async function runHttp(spec: HttpSpec, input: Input, ctx: ToolContext): Promise<CallToolResult> {
  let url = fill(spec.url, input, ctx, encodeURIComponent);
  const query: string[] = [];
  for (const [name, parts] of spec.query) {
    const sole = soleParam(parts);
    if (sole !== undefined && input[sole] === undefined) continue;
    query.push(encodeURIComponent(name) + "=" + fill(parts, input, ctx, encodeURIComponent));
  }
  if (query.length > 0) url += (url.includes("?") ? "&" : "?") + query.join("&");
  const headers: [string, string][] = [];
  for (const [name, parts] of spec.headers) {
    const sole = soleParam(parts);
    if (sole !== undefined && input[sole] === undefined) continue;
    const value = fill(parts, input, ctx, raw);
    if (/[\r\n\0]/.test(value)) throw new Error("the value of the header " + name + " cannot contain line breaks");
    headers.push([name, value]);
  }
  let body: string | undefined;
  if (spec.body !== undefined) {
    body = JSON.stringify(bodyValue(spec.body, input, ctx) ?? null);
    if (!headers.some(([name]) => name.toLowerCase() === "content-type")) headers.push(["content-type", "application/json"]);
  }
  const response = await fetch(url, { method: spec.method, headers, signal: ctx.signal, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  if (!response.ok) {
    const status = response.status + (response.statusText ? " " + response.statusText : "");
    return failure(new URL(url).hostname + " answered " + status + ": " + excerpt(text));
  }
  const isJson = /json/i.test(response.headers.get("content-type") ?? "");
  if (spec.pointer === undefined && !isJson) return asResult(text);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    if (spec.pointer === undefined) return asResult(text);
    return failure("the response is not JSON, so " + JSON.stringify(spec.pointer) + " cannot be read from it: " + excerpt(text));
  }
  if (spec.pointer === undefined) return asResult(doc);
  const found = atPointer(doc, spec.pointer);
  return found.found ? asResult(found.value) : failure("the response has no value at " + JSON.stringify(spec.pointer));
}

async function runPrompt(spec: PromptSpec, input: Input, ctx: ToolContext): Promise<CallToolResult> {
  const answer = await ctx.llm.complete({
    prompt: fill(spec.template, input, ctx, raw),
    ...(spec.system === undefined ? {} : { system: fill(spec.system, input, ctx, raw) }),
    ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
  });
  return asResult(answer.text);
}
`;
