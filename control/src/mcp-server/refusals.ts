import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

// How Isola's MCP endpoint refuses a request before the MCP transport has it: an HTTP status and
// a JSON-RPC error, as every MCP endpoint of Isola answers.

/** Largest JSON-RPC message accepted. */
export const BODY_LIMIT = 1024 * 1024;
/** JSON-RPC's implementation-defined range: the server refused (authentication, origin, session). */
export const REFUSED = -32000;

export class Refusal extends Error {
  readonly status: number;
  readonly code: number;
  readonly headers: Record<string, string>;
  constructor(status: number, code: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function refuse(reply: FastifyReply, refusal: Refusal) {
  return reply
    .code(refusal.status)
    .headers(refusal.headers)
    .type("application/json")
    .send({ jsonrpc: "2.0", id: null, error: { code: refusal.code, message: refusal.message } });
}

/** Fastify's own refusals (body too large, bad JSON, wrong media type) as JSON-RPC errors. */
export function onError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof Refusal) return refuse(reply, error);
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return refuse(reply, new Refusal(413, ErrorCode.InvalidRequest, `the message is over ${BODY_LIMIT} bytes`));
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return refuse(reply, new Refusal(415, ErrorCode.InvalidRequest, "send application/json"));
  if (error instanceof SyntaxError || error.statusCode === 400)
    return refuse(reply, new Refusal(400, ErrorCode.ParseError, "the body is not valid JSON"));
  request.log.error({ err: error }, "Isola's MCP endpoint failed");
  return refuse(reply, new Refusal(500, ErrorCode.InternalError, "internal error"));
}

/** The JSON-RPC method of a message, for the access log (bounded: it comes from the client). */
export function jsonRpcMethod(body: unknown): string | undefined {
  const method = (body as { method?: unknown } | null | undefined)?.method;
  return typeof method === "string" ? method.slice(0, 64) : undefined;
}
