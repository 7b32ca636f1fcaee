import { z } from "zod";
import { JSON_POINTER, PARAM_NAME, parseTemplate, type TemplatePart, templateRefs } from "./declarative-template.ts";
import { TRANSPORT_HEADERS } from "./http-headers.ts";
import { EGRESS_HOST, TOOL_NAME } from "./manifest.ts";

export * from "./declarative-template.ts";

/**
 * Declarative tools: a server described as data, no model and no code needed. The sandbox turns
 * them into guest-API code (sandbox/src/declarative/) that the compiler checks like any other,
 * so these schemas are the first gate, not the only one. Kinds:
 * - `static`: a fixed text or JSON value.
 * - `http`: one request to an https API, built from templates; the URL's host becomes the
 *   server's egress host.
 * - `prompt`: a prompt template answered at call time by the model (`ctx.llm`).
 * Templates: `{param}`, `{secret.NAME}` (http headers and query only), `{{`/`}}` for braces.
 */

export const DECLARATIVE_LIMITS = {
  maxTools: 64,
  maxParams: 32,
  maxEnumValues: 100,
  maxEnumValueChars: 200,
  maxDescriptionChars: 2000,
  maxUrlChars: 2048,
  maxHeaders: 32,
  maxQuery: 32,
  maxHeaderValueChars: 4096,
  maxQueryValueChars: 2048,
  /** JSON bytes of a static result or an http body. */
  maxJsonBytes: 64 * 1024,
  maxJsonDepth: 32,
  maxPromptChars: 32 * 1024,
  maxSystemChars: 8 * 1024,
  /** What a prompt tool may ask of the model (the host caps ctx.llm at the same number). */
  maxTokens: 4096,
  /** JSON bytes of a whole server: its generated module must stay under the compiler's file limit. */
  maxServerBytes: 128 * 1024,
};

export const PARAM_TYPES = ["string", "number", "integer", "boolean"] as const;
export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

const L = DECLARATIVE_LIMITS;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
/** UTF-8 bytes without Buffer: the schema package also runs in browsers. */
const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Why `value` is not plain JSON within the depth limit, or undefined. Never recurses past the limit. */
function jsonProblem(value: unknown, depth = 0): string | undefined {
  if (depth > L.maxJsonDepth) return `nested deeper than ${L.maxJsonDepth} levels`;
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : "numbers must be finite";
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) {
      const problem = jsonProblem(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return "only JSON values (strings, numbers, booleans, null, arrays, objects)";
}

/** A JSON value of bounded depth and size. */
const jsonValue = (what: string) =>
  z
    .custom<JsonValue>((value) => value !== undefined, `${what} is required`)
    .superRefine((value, ctx) => {
      const problem = jsonProblem(value);
      if (problem) return void ctx.addIssue({ code: "custom", message: `${what}: ${problem}` });
      const bytes = utf8Bytes(JSON.stringify(value));
      if (bytes > L.maxJsonBytes) {
        ctx.addIssue({ code: "custom", message: `${what} is ${bytes} bytes of JSON (at most ${L.maxJsonBytes})` });
      }
    });

export const declarativeParam = z
  .object({
    type: z.enum(PARAM_TYPES, { error: `type must be one of ${PARAM_TYPES.join(", ")}` }),
    description: z.string().max(L.maxDescriptionChars).optional(),
    /** Default true: a placeholder needs a value unless the parameter says otherwise. */
    required: z.boolean().optional(),
    enum: z
      .array(z.union([z.string().max(L.maxEnumValueChars), z.number()]))
      .min(1)
      .max(L.maxEnumValues)
      .optional(),
  })
  .strict()
  .superRefine((param, ctx) => {
    if (!param.enum) return;
    const path = ["enum"];
    if (param.type === "boolean") ctx.addIssue({ code: "custom", path, message: "a boolean cannot have an enum" });
    else if (param.type === "string" && param.enum.some((v) => typeof v !== "string")) {
      ctx.addIssue({ code: "custom", path, message: "the enum of a string parameter lists strings" });
    } else if (param.type === "number" && param.enum.some((v) => typeof v !== "number")) {
      ctx.addIssue({ code: "custom", path, message: "the enum of a number parameter lists numbers" });
    } else if (param.type === "integer" && param.enum.some((v) => !Number.isSafeInteger(v))) {
      ctx.addIssue({ code: "custom", path, message: "the enum of an integer parameter lists integers" });
    }
    if (new Set(param.enum).size !== param.enum.length) {
      ctx.addIssue({ code: "custom", path, message: "the enum lists a value twice" });
    }
  });

/** Record keys checked one by one with a message of our own (zod's says only "Invalid key in record"). */
const keysMatch = (pattern: RegExp, message: string) => (record: Record<string, unknown>, ctx: z.RefinementCtx) => {
  for (const key of Object.keys(record)) {
    if (!pattern.test(key)) ctx.addIssue({ code: "custom", path: [key], message });
  }
};

export const declarativeParams = z
  .record(z.string(), declarativeParam)
  .superRefine(keysMatch(PARAM_NAME, "parameter names are a letter, then letters, digits or _ (at most 64)"))
  .refine((params) => Object.keys(params).length <= L.maxParams, `at most ${L.maxParams} parameters`);

const base = {
  name: z.string().regex(TOOL_NAME, "tool names are 1-128 characters of A-Z a-z 0-9 _ . -"),
  title: z.string().min(1).max(200).optional(),
  description: z.string().min(1, "a description is required").max(L.maxDescriptionChars),
  params: declarativeParams.default({}),
};

export const staticTool = z.object({ kind: z.literal("static"), ...base, result: jsonValue("result") }).strict();

export const httpRequest = z
  .object({
    method: z.enum(HTTP_METHODS, { error: `method must be one of ${HTTP_METHODS.join(", ")}` }).default("GET"),
    url: z.string().min(1).max(L.maxUrlChars),
    headers: z
      .record(z.string(), z.string().max(L.maxHeaderValueChars))
      .superRefine(keysMatch(HEADER_NAME, "not a valid header name"))
      .refine((h) => Object.keys(h).length <= L.maxHeaders, `at most ${L.maxHeaders} headers`)
      .optional(),
    query: z
      .record(z.string(), z.string().max(L.maxQueryValueChars))
      .superRefine(keysMatch(/^[\s\S]{1,128}$/, "query parameter names are 1-128 characters"))
      .refine((q) => Object.keys(q).length <= L.maxQuery, `at most ${L.maxQuery} query parameters`)
      .optional(),
    /** JSON; a string in it is a template, and a string that is exactly "{param}" takes the value as it is typed. */
    body: jsonValue("body").optional(),
  })
  .strict();

export const httpResponse = z
  .object({
    /** What to return from the JSON response (RFC 6901); the whole body when absent. */
    pointer: z
      .string()
      .max(1024)
      .regex(JSON_POINTER, 'a JSON pointer (RFC 6901): "" or "/a/0/b", with "~0" for "~" and "~1" for "/"')
      .optional(),
  })
  .strict();

export const httpTool = z
  .object({ kind: z.literal("http"), ...base, request: httpRequest, response: httpResponse.optional() })
  .strict();

export const promptTool = z
  .object({
    kind: z.literal("prompt"),
    ...base,
    template: z.string().min(1).max(L.maxPromptChars),
    system: z.string().min(1).max(L.maxSystemChars).optional(),
    maxTokens: z.int().min(1).max(L.maxTokens).optional(),
  })
  .strict();

type Issue = { path: (string | number)[]; message: string };

/** Parses a template and checks what it refers to; the parts, or undefined after reporting why not. */
function checkTemplate(
  template: string,
  path: (string | number)[],
  params: Record<string, { required?: boolean | undefined }>,
  secretsAllowed: boolean,
  issues: Issue[],
): TemplatePart[] | undefined {
  const parsed = parseTemplate(template);
  if (!parsed.ok) {
    issues.push({ path, message: parsed.error });
    return undefined;
  }
  const refs = templateRefs(parsed.parts);
  for (const name of refs.params) {
    if (!Object.hasOwn(params, name)) {
      const declared = Object.keys(params);
      const known = declared.length ? `the parameters are ${declared.join(", ")}` : "the tool declares no parameters";
      issues.push({ path, message: `{${name}} is not a declared parameter (${known})` });
    }
  }
  if (refs.secrets.length && !secretsAllowed) {
    issues.push({ path, message: `{secret.${refs.secrets[0]}}: secrets may be used only in http headers and query` });
  }
  return parsed.parts;
}

/** The URL template: https, a fixed host (the egress host), placeholders only after it. */
function checkUrl(tool: z.output<typeof httpTool>, issues: Issue[]): void {
  const path = ["request", "url"];
  const parts = checkTemplate(tool.request.url, path, tool.params, false, issues);
  if (!parts) return;
  if (!tool.request.url.toLowerCase().startsWith("https://")) {
    return void issues.push({ path, message: "the URL must start with https://" });
  }
  const authority = /^https:\/\/([^/?#]*)/i.exec(tool.request.url)?.[1] ?? "";
  if (authority.includes("{")) {
    return void issues.push({ path, message: "the host cannot contain placeholders: it is the server's egress host" });
  }
  // Placeholders stand for any value here: what must hold does not depend on them.
  const sample = parts.map((part) => ("text" in part ? part.text : "x")).join("");
  const url = URL.parse(sample);
  if (!url) return void issues.push({ path, message: "not a valid URL" });
  if (url.username || url.password) {
    issues.push({ path, message: "credentials in the URL are not allowed: send them in a header" });
  }
  if (url.hash) issues.push({ path, message: "the URL cannot have a #fragment" });
  if (!EGRESS_HOST.test(url.hostname)) {
    issues.push({ path, message: `the host must be a DNS name like api.example.com (not ${url.hostname})` });
  }
  for (const name of templateRefs(parts).params) {
    if (tool.params[name]?.required === false) {
      issues.push({
        path,
        message: `{${name}} is optional, so it cannot be part of the URL: make it required, or send it in query`,
      });
    }
  }
}

/** Every string in an http body is a template of parameters. */
function checkBody(value: JsonValue, path: (string | number)[], tool: z.output<typeof httpTool>, issues: Issue[]) {
  if (typeof value === "string") checkTemplate(value, path, tool.params, false, issues);
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkBody(item, [...path, i], tool, issues);
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) checkBody(item, [...path, key], tool, issues);
  }
}

function httpIssues(tool: z.output<typeof httpTool>): Issue[] {
  const issues: Issue[] = [];
  checkUrl(tool, issues);
  for (const [name, template] of Object.entries(tool.request.headers ?? {})) {
    const path = ["request", "headers", name];
    if (TRANSPORT_HEADERS.has(name.toLowerCase()) || name.toLowerCase().startsWith("proxy-")) {
      issues.push({ path, message: `${name} is set by the transport, not by a template` });
    }
    checkTemplate(template, path, tool.params, true, issues);
  }
  for (const [name, template] of Object.entries(tool.request.query ?? {})) {
    checkTemplate(template, ["request", "query", name], tool.params, true, issues);
  }
  if (tool.request.body !== undefined) {
    if (tool.request.method === "GET") {
      issues.push({ path: ["request", "body"], message: "a GET request has no body: use query, or another method" });
    }
    checkBody(tool.request.body, ["request", "body"], tool, issues);
  }
  return issues;
}

function promptIssues(tool: z.output<typeof promptTool>): Issue[] {
  const issues: Issue[] = [];
  checkTemplate(tool.template, ["template"], tool.params, false, issues);
  if (tool.system !== undefined) checkTemplate(tool.system, ["system"], tool.params, false, issues);
  return issues;
}

export const declarativeTool = z
  .discriminatedUnion("kind", [staticTool, httpTool, promptTool], {
    error: (issue) => (issue.code === "invalid_union" ? 'kind must be "static", "http" or "prompt"' : undefined),
  })
  .superRefine((tool, ctx) => {
    const issues = tool.kind === "http" ? httpIssues(tool) : tool.kind === "prompt" ? promptIssues(tool) : [];
    // Copies: zod prefixes an issue's path in place, and templates share theirs.
    for (const issue of issues) ctx.addIssue({ code: "custom", message: issue.message, path: [...issue.path] });
  });

export const declarativeServer = z
  .object({
    name: z.string().min(1).max(128),
    description: z.string().max(L.maxDescriptionChars).optional(),
    tools: z.array(declarativeTool).min(1, "at least one tool").max(L.maxTools, `at most ${L.maxTools} tools`),
  })
  .strict()
  .superRefine((server, ctx) => {
    const seen = new Map<string, number>();
    server.tools.forEach((tool, i) => {
      const key = tool.name.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["tools", i, "name"],
          message: `the name ${tool.name} is also tools.${first}'s (names must differ ignoring case)`,
        });
      } else seen.set(key, i);
    });
    const bytes = utf8Bytes(JSON.stringify(server));
    if (bytes > L.maxServerBytes) {
      ctx.addIssue({ code: "custom", message: `the server is ${bytes} bytes of JSON (at most ${L.maxServerBytes})` });
    }
  });

export type DeclarativeParam = z.output<typeof declarativeParam>;
export type StaticTool = z.output<typeof staticTool>;
export type HttpTool = z.output<typeof httpTool>;
export type PromptTool = z.output<typeof promptTool>;
export type DeclarativeTool = z.output<typeof declarativeTool>;
export type DeclarativeServer = z.output<typeof declarativeServer>;
/** What a caller writes (method and params may be left out). */
export type DeclarativeServerInput = z.input<typeof declarativeServer>;

/** A validation failure as lines a person can act on: `tools.0 (get_user).request.url: the URL must ...`. */
export function declarativeProblems(error: z.ZodError, input: unknown): string[] {
  const tools = (input as { tools?: { name?: unknown }[] } | null)?.tools;
  return error.issues.map((issue) => {
    const path = issue.path.map((key, i) => {
      const name =
        i === 1 && issue.path[0] === "tools" && Array.isArray(tools) ? tools[key as number]?.name : undefined;
      return typeof name === "string" ? `${String(key)} (${name.slice(0, 128)})` : String(key);
    });
    return `${path.join(".") || "the server"}: ${issue.message}`;
  });
}
