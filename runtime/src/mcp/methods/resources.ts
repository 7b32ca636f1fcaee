import { SandboxError } from "@isola/sandbox";
import {
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { Method, MethodContext } from "../context.ts";
import { JSONRPC_ERRORS, JsonRpcError } from "../protocol/jsonrpc.ts";
import { pageOf } from "./pagination.ts";

export const listResources: Method = async ({ server, request }) => {
  const resources = (server.version?.manifest.resources ?? [])
    .filter((r) => r.uri !== undefined)
    .map(({ key: _key, uriTemplate: _template, ...resource }) => resource);
  const { page, nextCursor } = pageOf(resources, request.params?.cursor, server.version?.id ?? "");
  return { resources: page, ...(nextCursor ? { nextCursor } : {}) };
};

export const listResourceTemplates: Method = async ({ server, request }) => {
  const templates = (server.version?.manifest.resources ?? [])
    .filter((r) => r.uriTemplate !== undefined)
    .map(({ key: _key, uri: _uri, ...template }) => template);
  const { page, nextCursor } = pageOf(templates, request.params?.cursor, server.version?.id ?? "");
  return { resourceTemplates: page, ...(nextCursor ? { nextCursor } : {}) };
};

/** Resource reads and prompts run the server's code: the same sandbox call as a tool. */
async function runInSandbox(
  context: MethodContext,
  kind: "resource" | "prompt",
  target: string,
  args: unknown,
  shape: z.ZodType,
): Promise<Record<string, unknown>> {
  const { deps, server, caller, signal } = context;
  const version = server.version;
  if (!version) throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, "the server has no deployed version");
  const declared = new Set(version.manifest.egress);
  let value: unknown;
  try {
    value = await deps.sandbox.call({
      server: { id: server.id, hash: version.hash },
      kind,
      target,
      args,
      env: await deps.secretsFor(server.id),
      user: caller.user,
      egress: { allowedHosts: server.egressApproved.filter((host) => declared.has(host)), ...deps.egress },
      limits: { memoryMb: server.plan.memoryMb },
      signal,
    });
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    if (error.code === "SANDBOX_UNKNOWN_RESOURCE") {
      throw new JsonRpcError(JSONRPC_ERRORS.resourceNotFound, `Resource not found: ${target}`, { uri: target });
    }
    if (error.code === "SANDBOX_UNKNOWN_PROMPT" || error.code === "SANDBOX_INVALID_ARGUMENTS") {
      throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, error.message);
    }
    deps.logs.write(server.id, { level: "error", source: "runtime", message: error.message, caller: caller.label });
    throw new JsonRpcError(JSONRPC_ERRORS.internalError, error.message);
  }
  // The host does not trust what comes out of an isolate.
  const checked = shape.safeParse(value);
  if (!checked.success)
    throw new JsonRpcError(JSONRPC_ERRORS.internalError, `the server's ${kind} answer is not a valid MCP result`);
  return checked.data as Record<string, unknown>;
}

export const readResource: Method = async (context) => {
  const parsed = ReadResourceRequestSchema.safeParse(context.request);
  if (!parsed.success) throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, "resources/read needs params.uri");
  return runInSandbox(context, "resource", parsed.data.params.uri, null, ReadResourceResultSchema);
};

/** Subscriptions are accepted: a server's resources change only when a version is deployed. */
export const subscribe: Method = async () => ({});

export const listPrompts: Method = async ({ server, request }) => {
  const { page, nextCursor } = pageOf(
    server.version?.manifest.prompts ?? [],
    request.params?.cursor,
    server.version?.id ?? "",
  );
  return { prompts: page, ...(nextCursor ? { nextCursor } : {}) };
};

export const getPrompt: Method = async (context) => {
  const parsed = GetPromptRequestSchema.safeParse(context.request);
  if (!parsed.success) throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, "prompts/get needs params.name");
  const { name } = parsed.data.params;
  if (!context.server.version?.manifest.prompts.some((p) => p.name === name)) {
    throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, `Unknown prompt: ${name}`);
  }
  return runInSandbox(context, "prompt", name, parsed.data.params.arguments ?? {}, GetPromptResultSchema);
};
