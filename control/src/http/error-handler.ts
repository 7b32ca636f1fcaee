import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { PROBLEMS, Problem, type ProblemCode } from "./problems.ts";

/** Fastify's own errors (body parsing, limits), as problems. */
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "payload-too-large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported-media-type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid-request",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid-request",
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid-request",
};

function toProblem(error: FastifyError | Error): Problem {
  if (error instanceof Problem) return error;
  const fastifyError = error as FastifyError;
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new Problem(mapped, error.message);
  if (error instanceof SyntaxError || fastifyError.statusCode === 400) {
    return new Problem("invalid-request", `the body is not valid JSON: ${error.message}`);
  }
  const sqlState = (error as { code?: string }).code;
  // A unique violation we did not turn into a better answer still means "conflicts with what exists".
  if (sqlState === "23505") return new Problem("conflict", "that would duplicate something that exists");
  // Postgres cannot store U+0000 in text or jsonb: any text field of any request can carry one.
  if (sqlState === "22021" || sqlState === "22P05")
    return new Problem("invalid-request", "text values cannot contain the NUL character (\\u0000)");
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code =
      (Object.keys(PROBLEMS) as ProblemCode[]).find((c) => PROBLEMS[c].status === status) ?? "invalid-request";
    return new Problem(code, error.message);
  }
  return new Problem("internal", "the request failed on our side; it has been logged");
}

/** Every error the API answers is application/problem+json; internals are logged, never sent. */
export function problemErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const found = toProblem(error);
  if (found.status >= 500) request.log.error({ err: error }, "request failed");
  for (const [name, value] of Object.entries(found.headers)) reply.header(name, value);
  return reply
    .code(found.status)
    .type("application/problem+json")
    .send(found.body(request.url.split("?")[0]));
}
