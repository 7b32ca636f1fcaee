import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
import type { FastifyRequest } from "fastify";
import type { z } from "zod";
import type { BuildActions } from "../builds/build-actions.ts";
import type { ControlDeps } from "../deps.ts";
import { PROBLEMS, Problem, problemType } from "../http/problems.ts";
import type { Catalogue } from "../templates/catalogue.ts";

// How a tool of Isola's MCP server is declared and answers: it runs as the caller of the HTTP
// request that carried the call (the same request object the REST API's checks take), and a
// problem (403, 404, 409, a compile failure...) becomes a tool result with isError, in words.

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What every tool is given: the control plane's parts, and the session's MCP server (to ask the user). */
export interface ToolContext {
  deps: ControlDeps;
  builds: BuildActions;
  catalogue: Catalogue;
  mcp: McpServer;
}

export interface ToolCall {
  /** The HTTP request of this call, its caller resolved (request.actor). */
  request: FastifyRequest;
  extra: ToolExtra;
}

export interface ToolSpec<I extends z.ZodObject> {
  title: string;
  description: string;
  input: I;
  /** The structuredContent's schema, for tools that answer data. */
  output?: z.ZodObject;
  annotations: ToolAnnotations;
  run(args: z.output<I>, call: ToolCall): Promise<CallToolResult>;
}

/** The plugin puts the request in the auth info it hands the transport (auth info travels with each message). */
export function requestOf(extra: ToolExtra): FastifyRequest {
  const request = extra.authInfo?.extra?.request;
  if (!request) throw new Error("a tool ran without the HTTP request that carried it");
  return request as FastifyRequest;
}

export function addTool<I extends z.ZodObject>(mcp: McpServer, name: string, spec: ToolSpec<I>): void {
  const handler = async (args: z.output<I>, extra: ToolExtra): Promise<CallToolResult> => {
    const request = requestOf(extra);
    try {
      return await spec.run(args, { request, extra });
    } catch (error) {
      return failure(error, request);
    }
  };
  mcp.registerTool(
    name,
    {
      title: spec.title,
      description: spec.description,
      // Unknown arguments are refused, as the REST API refuses unknown fields: a typo (or a secret
      // passed as an argument) must not be silently dropped.
      inputSchema: spec.input.strict(),
      ...(spec.output ? { outputSchema: spec.output } : {}),
      annotations: { title: spec.title, openWorldHint: false, ...spec.annotations },
    },
    handler as never,
  );
}

/** A result with data: a line for a person (or a model), the data as JSON text, and as structuredContent. */
export function answer(data: Record<string, unknown>, summary: string): CallToolResult {
  return {
    content: [
      { type: "text", text: summary },
      { type: "text", text: JSON.stringify(data, null, 2) },
    ],
    structuredContent: data,
  };
}

/** A refusal in words (isError: the model reads it and may try otherwise). */
export function refusal(message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: message }] };
}

/** One line per diagnostic or field a problem lists. */
function detailLines(errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  return errors.map((item: Record<string, unknown>) => {
    if (typeof item.step === "string") {
      const where = item.file ? ` ${item.file}:${item.line}:${item.column}` : "";
      return `- ${item.step}${where}: ${item.message}`;
    }
    return `- ${item.path ? `${item.path}: ` : ""}${item.message}`;
  });
}

/** A problem as the REST API would answer it, as a tool result; anything else is logged and not detailed. */
export function failure(error: unknown, request: Pick<FastifyRequest, "log">): CallToolResult {
  if (error instanceof Problem) {
    const head = `${PROBLEMS[error.code].title}: ${error.message} (${problemType(error.code)})`;
    const hosts = Array.isArray(error.extra.hosts) ? [`hosts: ${error.extra.hosts.join(", ")}`] : [];
    return refusal([head, ...hosts, ...detailLines(error.extra.errors)].join("\n"));
  }
  request.log.error({ err: error }, "a tool of Isola's MCP server failed");
  return refusal("Something went wrong on Isola's side (it is logged); try again later.");
}
