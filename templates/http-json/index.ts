// Wraps a JSON HTTP API: GET (and, when allowed, other methods) on paths under one base URL,
// with the API_AUTH secret as its auth header when it is set.
import { defineServer, type Tool, tool, z } from "isola";
import config from "./config.ts";

const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;

const Settings = z.object({
  baseUrl: z
    .url({ protocol: /^https?$/, error: "baseUrl must be an http(s) URL, like https://api.example.com/v1" })
    .refine((value) => !value.includes("?") && !value.includes("#"), "baseUrl cannot have a query or a fragment"),
  authHeader: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "authHeader must be a header name, like Authorization"),
  methods: z
    .array(z.enum(["GET", ...WRITE_METHODS]))
    .min(1, "allow at least one method")
    .refine((methods) => new Set(methods).size === methods.length, "a method is listed twice"),
});

function loadSettings(): z.output<typeof Settings> {
  const parsed = Settings.safeParse(config);
  if (!parsed.success) throw new Error(`config.ts: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const settings = loadSettings();
const BASE = new URL(settings.baseUrl);
const BASE_PATH = BASE.pathname.replace(/\/+$/, "");
const WRITES = WRITE_METHODS.filter((method) => settings.methods.includes(method));

/** The URL of `path` under the base URL; refuses one that leads elsewhere (../ and the like). */
function targetUrl(path: string, query: Record<string, string | number | boolean> | undefined): URL {
  const url = new URL(`${BASE.origin}${BASE_PATH}${path}`);
  if (url.origin !== BASE.origin || !(url.pathname === BASE_PATH || url.pathname.startsWith(`${BASE_PATH}/`))) {
    throw new Error(`the path ${path} leads outside ${settings.baseUrl}`);
  }
  for (const [name, value] of Object.entries(query ?? {})) url.searchParams.append(name, String(value));
  return url;
}

/** RFC 6901: "/items/0/name" -> that value of `document`. */
function pick(document: unknown, pointer: string): unknown {
  if (pointer === "") return document;
  let value = document;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    const container = value as Record<string, unknown> | unknown[] | null;
    const found =
      container !== null && typeof container === "object" && Object.hasOwn(container, key)
        ? (container as Record<string, unknown>)[key]
        : undefined;
    if (found === undefined) throw new Error(`the answer has nothing at ${pointer} (no "${key}")`);
    value = found;
  }
  return value;
}

const excerpt = (text: string) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
};

async function callApi(
  method: string,
  url: URL,
  body: unknown,
  ctx: { env: Readonly<Record<string, string>>; signal: AbortSignal },
) {
  const headers: Record<string, string> = { accept: "application/json" };
  if (ctx.env.API_AUTH) headers[settings.authHeader] = ctx.env.API_AUTH;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: ctx.signal,
    });
  } catch (error) {
    throw new Error(`could not reach ${url.hostname}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const said = excerpt(text);
    throw new Error(`the API answered ${response.status} ${response.statusText}${said ? `: ${said}` : ""}`.trim());
  }
  if (text.trim() === "") return { status: response.status, data: null };
  try {
    return { status: response.status, data: JSON.parse(text) as unknown };
  } catch {
    const type = response.headers.get("content-type") ?? "no content type";
    throw new Error(`the API answered ${response.status} with something that is not JSON (${type}): ${excerpt(text)}`);
  }
}

const path = z
  .string()
  .min(1)
  .max(2000)
  .regex(/^\/[^\s?#]*$/, 'a path starting with "/", without a query (use query), like /users/1')
  .describe(`The path under ${settings.baseUrl}, starting with "/"`);
const query = z
  .record(z.string().min(1).max(200), z.union([z.string().max(2000), z.number(), z.boolean()]))
  .optional()
  .describe("Query parameters, by name");
const pointer = z
  .string()
  .regex(/^(\/[^/]*)*$/, 'a JSON pointer like "/items/0/name"')
  .default("")
  .describe('Only this part of the answer, as a JSON pointer like "/items/0/name"; empty for all of it');
const Answer = z.object({ status: z.number(), url: z.string(), data: z.unknown() });

const tools: Record<string, Tool> = {
  get_json: tool({
    title: "GET from the API",
    description:
      `Sends a GET request to a path of the JSON API at ${settings.baseUrl} and returns the HTTP status and the ` +
      "JSON answer (or the part of it a JSON pointer names).",
    input: z.object({ path, query, pick: pointer }),
    output: Answer,
    annotations: { readOnlyHint: true, openWorldHint: true },
    async run({ path, query, pick: part }, ctx) {
      const url = targetUrl(path, query);
      const answer = await callApi("GET", url, undefined, ctx);
      return { status: answer.status, url: url.href, data: pick(answer.data, part) ?? null };
    },
  }),
};

const [firstWrite, ...otherWrites] = WRITES;
if (firstWrite) {
  tools.send_json = tool({
    title: "Send JSON to the API",
    description:
      `Sends a ${WRITES.join(", ")} request with a JSON body to a path of the API at ${settings.baseUrl} and returns ` +
      "the HTTP status and the JSON answer (null when it has no body). This can change data on the API's side.",
    input: z.object({
      method: z.enum([firstWrite, ...otherWrites]).describe("The HTTP method"),
      path,
      query,
      body: z.unknown().optional().describe("The JSON body to send, if any"),
      pick: pointer,
    }),
    output: Answer,
    annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true },
    async run({ method, path, query, body, pick: part }, ctx) {
      const url = targetUrl(path, query);
      const answer = await callApi(method, url, body, ctx);
      return { status: answer.status, url: url.href, data: pick(answer.data, part) ?? null };
    },
  });
}

export default defineServer({
  name: "http-json",
  version: "1.0.0",
  description: `Tools for the JSON API at ${settings.baseUrl}`,
  secrets: ["API_AUTH"],
  egress: [BASE.hostname],
  tools,
});
