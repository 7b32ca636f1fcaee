// Every error the API returns, defined once: RFC 9457 problem details with a stable `type`
// (urn:isola:problem:<code>) a client can switch on, a status, and a title a person can read.
// The detail says what happened in this case. Listed in docs/API.md.

export const PROBLEMS = {
  "invalid-request": { status: 400, title: "The request is not valid" },
  "reset-link-invalid": { status: 400, title: "The password reset link is not valid" },
  unauthenticated: { status: 401, title: "Sign in or send a token" },
  "invalid-credentials": { status: 401, title: "Email or password is wrong" },
  forbidden: { status: 403, title: "Your role does not allow this" },
  "csrf-failed": { status: 403, title: "Missing or wrong CSRF token" },
  "plan-limit": { status: 403, title: "Your plan does not allow this" },
  "not-found": { status: 404, title: "Not found" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflicts with the current state" },
  "slug-taken": { status: 409, title: "That slug is taken" },
  "egress-not-approved": { status: 409, title: "The code reaches hosts that are not approved" },
  "model-not-configured": { status: 409, title: "No language model is configured" },
  "interaction-expired": { status: 410, title: "This sign-in has expired" },
  "precondition-failed": { status: 412, title: "The resource changed since you read it" },
  "payload-too-large": { status: 413, title: "The request body is too large" },
  "unsupported-media-type": { status: 415, title: "Send JSON" },
  "compile-failed": { status: 422, title: "The code did not compile" },
  "idempotency-key-reused": { status: 422, title: "The idempotency key was used for a different request" },
  "precondition-required": { status: 428, title: "Send If-Match with the ETag you read" },
  "rate-limited": { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Something went wrong on our side" },
  unavailable: { status: 503, title: "Temporarily unavailable" },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

export const problemType = (code: ProblemCode) => `urn:isola:problem:${code}`;

/** Thrown by handlers and checks; the error handler turns it into application/problem+json. */
export class Problem extends Error {
  override name = "Problem";
  readonly code: ProblemCode;
  readonly status: number;
  /** Extension members (RFC 9457 section 3.2), e.g. the compiler's `errors`. */
  readonly extra: Record<string, unknown>;
  /** Response headers, e.g. Retry-After. */
  readonly headers: Record<string, string>;

  constructor(
    code: ProblemCode,
    detail: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.extra = extra;
    this.headers = headers;
  }

  body(instance?: string): Record<string, unknown> {
    return {
      type: problemType(this.code),
      title: PROBLEMS[this.code].title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extra,
    };
  }
}

export const problem = (code: ProblemCode, detail: string, extra?: Record<string, unknown>) =>
  new Problem(code, detail, extra);

/** The API's answer to a URL the router could not match (bad encoding, an over-long segment). */
export const apiUrlErrors = {
  matches: (path: string) => path.startsWith("/api/"),
  answer: (message: string, path: string) => ({
    contentType: "application/problem+json",
    body: problem("invalid-request", message).body(path),
  }),
};
