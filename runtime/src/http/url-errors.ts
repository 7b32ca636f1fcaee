import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * How a part of the URL space answers a URL the router cannot even match (bad percent-encoding,
 * a path segment over the router's length limit): each role answers in its own error format.
 */
export interface UrlErrorAnswer {
  /** Whether a path belongs to this role; the first answer that claims it answers. */
  matches(path: string): boolean;
  answer(message: string, path: string): { contentType: string; body: unknown };
}

const MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: "the URL is not valid (bad percent-encoding)",
  FST_ERR_MAX_PARAM_LENGTH: "a part of the URL's path is too long",
};

/** Fastify's `frameworkErrors`: a 400 in the format of the role that owns the path. */
export function urlErrorHandler(answers: readonly UrlErrorAnswer[]) {
  return (error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply) => {
    const message = MESSAGES[error.code ?? ""] ?? "the URL is not valid";
    // The raw URL: the router refused to decode it.
    const path = (request.raw.url ?? "/").split("?")[0] as string;
    const owner = answers.find((candidate) => candidate.matches(path));
    const { contentType, body } = owner?.answer(message, path) ?? {
      contentType: "application/json",
      body: { error: "bad_request", message },
    };
    void reply.code(400).type(contentType).send(body);
  };
}
