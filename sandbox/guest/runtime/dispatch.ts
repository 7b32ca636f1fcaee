// Calls into the server: tools, resources and prompts, each with its context.
import { z } from "zod";
import { callHost, logToHost, messageOf, reply, requestHost } from "./bridge.ts";
import { currentServer, type ResourceDefinition } from "./definitions.ts";
import { type CallContextData, HOST_OPS, type LogLevel } from "./protocol.ts";
import { AbortController, DOMException } from "./web/abort.ts";
import { dropTimers } from "./web/timers.ts";

const running = new Map<number, AbortController>();

function context(callId: number, data: CallContextData, server: { secrets: string[] }) {
  const controller = new AbortController();
  running.set(callId, controller);
  const log = (level: LogLevel) => (message: unknown, extra?: unknown) => {
    const line = { callId, level, message: String(message) };
    try {
      logToHost(extra === undefined ? line : { ...line, data: extra });
    } catch {
      // Data JSON cannot carry (a cycle, a BigInt): logging still never throws into the tool.
      logToHost({ ...line, data: "[data that cannot be written as JSON]" });
    }
  };
  // Only the secrets the server declared, even if the host sent more.
  const env = Object.freeze(
    Object.fromEntries(server.secrets.filter((n) => n in data.env).map((n) => [n, data.env[n]])),
  );
  return {
    log: Object.freeze({ debug: log("debug"), info: log("info"), warning: log("warning"), error: log("error") }),
    progress(done: number, total?: number, message?: string) {
      callHost(HOST_OPS.progress, { callId, done: Number(done), total, message });
    },
    signal: controller.signal,
    env,
    user: data.user ? Object.freeze({ ...data.user, scopes: Object.freeze([...data.user.scopes]) }) : null,
    sample: (request: unknown) => requestHost(HOST_OPS.sample, { callId, request }),
    elicit: (request: unknown) => requestHost(HOST_OPS.elicit, { callId, request }),
    llm: Object.freeze({ complete: (request: unknown) => requestHost(HOST_OPS.llm, { callId, request }) }),
  };
}

/** Called by the host on cancellation or deadline. */
export function abort(callId: number, reason: string): void {
  running.get(callId)?.abort(new DOMException(reason, "AbortError"));
}

const errorResult = (text: string) => ({ content: [{ type: "text", text }], isError: true });

function isCallToolResult(value: unknown): boolean {
  if (typeof value !== "object" || value === null || !Array.isArray((value as { content?: unknown }).content))
    return false;
  return (value as { content: unknown[] }).content.every(
    (block) => typeof block === "object" && block !== null && typeof (block as { type?: unknown }).type === "string",
  );
}

const mismatch = (detail: string) => errorResult(`The result does not match the tool's output schema: ${detail}`);
const structured = (value: unknown) => ({
  structuredContent: value,
  content: [{ type: "text", text: JSON.stringify(value) }],
});

/**
 * What run() returned, as an MCP CallToolResult. A tool with an output schema must give
 * structured content that matches it (MCP requires it, and clients reject results without
 * it), whatever it returns; only an isError result is exempt.
 */
function toolResult(value: unknown, output: z.ZodObject | undefined): unknown {
  if (isCallToolResult(value)) {
    const result = value as { structuredContent?: unknown; isError?: unknown };
    if (!output || result.isError === true) return value;
    if (result.structuredContent === undefined) return mismatch("the result has no structuredContent");
    const parsed = output.safeParse(result.structuredContent);
    return parsed.success ? { ...result, structuredContent: parsed.data } : mismatch(z.prettifyError(parsed.error));
  }
  if (output) {
    const parsed = output.safeParse(value);
    return parsed.success ? structured(parsed.data) : mismatch(z.prettifyError(parsed.error));
  }
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  if (value === undefined || value === null) return { content: [] };
  if (typeof value === "number" || typeof value === "boolean")
    return { content: [{ type: "text", text: String(value) }] };
  if (Array.isArray(value)) return { content: [{ type: "text", text: JSON.stringify(value) }] };
  return structured(value);
}

/** Bytes of UTF-8 (what the limit counts), not UTF-16 code units: "€" is 3 bytes, not 1. */
function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2; // with its low surrogate (JSON escapes lone ones): 4 bytes for 2 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** Runs `body` with the call's context; always answers JSON within the size limit. */
async function serve(
  callId: number,
  contextJson: string,
  body: (server: NonNullable<ReturnType<typeof currentServer>>, ctx: ReturnType<typeof context>) => Promise<unknown>,
  /** The answer instead, when the body's value cannot be written as JSON (the tool's mistake, not ours). */
  unserializable?: (error: unknown) => unknown,
): Promise<string> {
  const server = currentServer();
  if (!server) return reply({ error: { code: "no_server", message: "the code never called defineServer({...})" } });
  const data = JSON.parse(contextJson) as CallContextData;
  const ctx = context(callId, data, server);
  try {
    const value = await body(server, ctx);
    let answer: string;
    try {
      answer = reply({ ok: value });
    } catch (error) {
      if (!unserializable) throw error;
      answer = reply({ ok: unserializable(error) });
    }
    const bytes = utf8Length(answer);
    if (bytes <= data.maxResultBytes) return answer;
    return reply({
      error: {
        code: "result_too_large",
        message: `the result is ${bytes} bytes; the limit is ${data.maxResultBytes}`,
      },
    });
  } catch (error) {
    if (error instanceof GuestError) return reply({ error: { code: error.code, message: error.message } });
    return reply({ error: { code: "internal", message: messageOf(error) } });
  } finally {
    running.delete(callId);
    if (running.size === 0) dropTimers();
  }
}

class GuestError extends Error {
  readonly code: "unknown_tool" | "unknown_resource" | "unknown_prompt" | "invalid_arguments" | "code_error";
  constructor(code: GuestError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

export function callTool(callId: number, name: string, argsJson: string, contextJson: string): Promise<string> {
  return serve(
    callId,
    contextJson,
    async (server, ctx) => {
      const tool = server.tools.get(name);
      if (!tool) throw new GuestError("unknown_tool", `no tool named ${name}`);
      const input = tool.input.safeParse(JSON.parse(argsJson));
      if (!input.success) return errorResult(`Invalid arguments: ${z.prettifyError(input.error)}`);
      try {
        return toolResult(await (tool.run as (i: unknown, c: unknown) => unknown)(input.data, ctx), tool.output);
      } catch (error) {
        // Only the message: a stack would show the host's internals and the tool's source.
        return errorResult(messageOf(error));
      }
    },
    (error) => errorResult(`The result cannot be written as JSON: ${messageOf(error)}`),
  );
}

/** Matches a level-1 URI template ("notes://{id}") and returns its variables. */
function matchTemplate(template: string, uri: string): Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/?#]+)";
  });
  const match = new RegExp(`^${pattern}$`).exec(uri);
  if (!match) return undefined;
  try {
    return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]));
  } catch {
    return undefined; // a malformed %-escape: no match (unknown resource), not an internal error
  }
}

function resourceContents(value: unknown, uri: string, definition: ResourceDefinition): unknown[] {
  const mime = definition.mimeType === undefined ? {} : { mimeType: definition.mimeType };
  if (typeof value === "string") return [{ uri, ...mime, text: value }];
  return (Array.isArray(value) ? value : [value]).map((item) => ({ uri, ...mime, ...(item as object) }));
}

/** Runs the server's own code; what it throws is its error, reported as such (not as ours). */
async function runCode(code: () => unknown): Promise<unknown> {
  try {
    return await code();
  } catch (error) {
    throw new GuestError("code_error", messageOf(error));
  }
}

export function readResource(callId: number, uri: string, contextJson: string): Promise<string> {
  return serve(callId, contextJson, async (server, ctx) => {
    for (const definition of server.resources.values()) {
      const params =
        definition.uri === uri ? {} : definition.uriTemplate ? matchTemplate(definition.uriTemplate, uri) : undefined;
      if (!params) continue;
      const value = await runCode(() =>
        (definition.read as (u: string, c: unknown) => unknown)(uri, { ...ctx, params }),
      );
      return { contents: resourceContents(value, uri, definition) };
    }
    throw new GuestError("unknown_resource", `no resource matches ${uri}`);
  });
}

export function getPrompt(callId: number, name: string, argsJson: string, contextJson: string): Promise<string> {
  return serve(callId, contextJson, async (server, ctx) => {
    const definition = server.prompts.get(name);
    if (!definition) throw new GuestError("unknown_prompt", `no prompt named ${name}`);
    const schema = definition.arguments ?? z.object({});
    const args = schema.safeParse(JSON.parse(argsJson));
    if (!args.success) throw new GuestError("invalid_arguments", z.prettifyError(args.error));
    const value = await runCode(() => (definition.get as (a: unknown, c: unknown) => unknown)(args.data, ctx));
    const messages = typeof value === "string" ? [{ role: "user", content: { type: "text", text: value } }] : value;
    return { ...(definition.description === undefined ? {} : { description: definition.description }), messages };
  });
}
