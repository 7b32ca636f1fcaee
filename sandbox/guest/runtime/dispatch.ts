// Calls into the server: tools, resources and prompts, each with its context.
import { z } from "zod";
import { callHost, messageOf, reply, requestHost } from "./bridge.ts";
import { currentServer, type ResourceDefinition } from "./definitions.ts";
import { type CallContextData, HOST_OPS, type LogLevel } from "./protocol.ts";
import { AbortController, DOMException } from "./web/abort.ts";

const running = new Map<number, AbortController>();

function context(callId: number, data: CallContextData, server: { secrets: string[] }) {
  const controller = new AbortController();
  running.set(callId, controller);
  const log = (level: LogLevel) => (message: unknown, extra?: unknown) => {
    callHost(HOST_OPS.log, {
      callId,
      level,
      message: String(message),
      ...(extra === undefined ? {} : { data: extra }),
    });
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

function toolResult(value: unknown, output: z.ZodObject | undefined): unknown {
  if (typeof value === "string") return { content: [{ type: "text", text: value }] };
  if (value === undefined || value === null) return { content: [] };
  if (typeof value === "number" || typeof value === "boolean")
    return { content: [{ type: "text", text: String(value) }] };
  if (isCallToolResult(value)) return value;
  if (Array.isArray(value)) return { content: [{ type: "text", text: JSON.stringify(value) }] };
  if (output) {
    const parsed = output.safeParse(value);
    if (!parsed.success)
      return errorResult(`The result does not match the tool's output schema: ${z.prettifyError(parsed.error)}`);
    value = parsed.data;
  }
  return { structuredContent: value, content: [{ type: "text", text: JSON.stringify(value) }] };
}

/** Runs `body` with the call's context; always answers JSON within the size limit. */
async function serve(
  callId: number,
  contextJson: string,
  body: (server: NonNullable<ReturnType<typeof currentServer>>, ctx: ReturnType<typeof context>) => Promise<unknown>,
): Promise<string> {
  const server = currentServer();
  if (!server) return reply({ error: { code: "no_server", message: "the code never called defineServer({...})" } });
  const data = JSON.parse(contextJson) as CallContextData;
  const ctx = context(callId, data, server);
  try {
    const answer = reply({ ok: await body(server, ctx) });
    if (answer.length <= data.maxResultBytes) return answer;
    return reply({
      error: {
        code: "result_too_large",
        message: `the result is ${answer.length} bytes; the limit is ${data.maxResultBytes}`,
      },
    });
  } catch (error) {
    if (error instanceof GuestError) return reply({ error: { code: error.code, message: error.message } });
    return reply({ error: { code: "internal", message: messageOf(error) } });
  } finally {
    running.delete(callId);
  }
}

class GuestError extends Error {
  readonly code: "unknown_tool" | "unknown_resource" | "unknown_prompt" | "invalid_arguments";
  constructor(code: GuestError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

export function callTool(callId: number, name: string, argsJson: string, contextJson: string): Promise<string> {
  return serve(callId, contextJson, async (server, ctx) => {
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
  });
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
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]));
}

function resourceContents(value: unknown, uri: string, definition: ResourceDefinition): unknown[] {
  const mime = definition.mimeType === undefined ? {} : { mimeType: definition.mimeType };
  if (typeof value === "string") return [{ uri, ...mime, text: value }];
  return (Array.isArray(value) ? value : [value]).map((item) => ({ uri, ...mime, ...(item as object) }));
}

export function readResource(callId: number, uri: string, contextJson: string): Promise<string> {
  return serve(callId, contextJson, async (server, ctx) => {
    for (const definition of server.resources.values()) {
      const params =
        definition.uri === uri ? {} : definition.uriTemplate ? matchTemplate(definition.uriTemplate, uri) : undefined;
      if (!params) continue;
      const value = await (definition.read as (u: string, c: unknown) => unknown)(uri, { ...ctx, params });
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
    const value = await (definition.get as (a: unknown, c: unknown) => unknown)(args.data, ctx);
    const messages = typeof value === "string" ? [{ role: "user", content: { type: "text", text: value } }] : value;
    return { ...(definition.description === undefined ? {} : { description: definition.description }), messages };
  });
}
