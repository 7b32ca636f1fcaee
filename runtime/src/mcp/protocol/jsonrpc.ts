// JSON-RPC 2.0 as MCP uses it: classifying what a client POSTed, and building answers. Pure.
import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

export const JSONRPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Implementation range: the server refused (limits, state). */
  serverError: -32000,
  /** MCP: resources/read of a URI the server does not have. */
  resourceNotFound: -32002,
} as const;

export type RequestId = string | number;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export type JsonRpcResponse =
  | { jsonrpc: "2.0"; id: RequestId; result: Record<string, unknown> }
  | { jsonrpc: "2.0"; id?: RequestId; error: { code: number; message: string; data?: unknown } };

export type Classified =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "response"; message: JsonRpcResponse }
  | { kind: "batch"; messages: unknown[] }
  | { kind: "invalid"; error: { code: number; message: string }; id?: RequestId };

/**
 * How deep a message may nest. Real messages stay far below; much deeper ones (a 1 MiB body
 * holds 500,000 levels) would overflow the stack of whatever walks them next: schemas,
 * JSON.stringify, the sandbox's IPC.
 */
export const MAX_NESTING = 128;

/** Whether arrays and objects in `value` nest deeper than `limit`. Iterative, so that it cannot overflow itself. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== "object" || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** What a POST body is. `body` is the parsed JSON (Fastify parsed it; a syntax error never gets here). */
export function classify(body: unknown): Classified {
  if (Array.isArray(body)) return { kind: "batch", messages: body };
  const id = (body as { id?: unknown } | null)?.id;
  const echo = typeof id === "string" || typeof id === "number" ? { id } : {};
  if (nestsDeeperThan(body, MAX_NESTING)) {
    return {
      kind: "invalid",
      error: { code: JSONRPC_ERRORS.invalidRequest, message: `the message nests deeper than ${MAX_NESTING} levels` },
      ...echo,
    };
  }
  const parsed = JSONRPCMessageSchema.safeParse(body);
  if (!parsed.success) {
    return {
      kind: "invalid",
      error: { code: JSONRPC_ERRORS.invalidRequest, message: "not a JSON-RPC 2.0 request, notification or response" },
      ...echo,
    };
  }
  const message = parsed.data as Record<string, unknown>;
  if ("method" in message) {
    return "id" in message
      ? { kind: "request", message: message as unknown as JsonRpcRequest }
      : { kind: "notification", message: message as unknown as JsonRpcNotification };
  }
  return { kind: "response", message: message as unknown as JsonRpcResponse };
}

export const result = (id: RequestId, value: Record<string, unknown>): JsonRpcResponse => ({
  jsonrpc: "2.0",
  id,
  result: value,
});

/** An error answer. Without a request id, `id` is left out (the schema allows no null). */
export function errorResponse(
  id: RequestId | undefined,
  code: number,
  message: string,
  data?: unknown,
): JsonRpcResponse {
  return {
    jsonrpc: "2.0",
    ...(id === undefined ? {} : { id }),
    error: { code, message, ...(data === undefined ? {} : { data }) },
  };
}

export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}
