/**
 * Every way an egress request can fail, each defined once: a stable code (tenant code and
 * the dashboard may branch on it) and a message a tenant developer can act on.
 *
 * Messages name hosts, addresses and limits, never a URL's path or query, a header value or a
 * body: those may carry the tenant's secrets, and messages end up in logs and in tool output.
 */
const MESSAGES = {
  EGRESS_BAD_URL: (reason: string) => `egress refused: ${reason}`,
  EGRESS_SCHEME_REFUSED: (reason: string) => `egress refused: ${reason}`,
  EGRESS_HOST_NOT_ALLOWED: (host: string) =>
    `egress refused: "${host}" is not in the server's approved egress hosts; declare it and have the server's owner approve it`,
  EGRESS_ADDRESS_REFUSED: (host: string, address: string, why: string, lanOnly: boolean) =>
    `egress refused: ${host === address ? address : `${host} resolves to ${address}, which`} is ${why}; ` +
    `tool code may not reach it${lanOnly ? " (an operator self-hosting on a LAN can allow private networks)" : ""}`,
  EGRESS_DNS_FAILED: (host: string, reason: string) => `egress failed: cannot resolve ${host}: ${reason}`,
  EGRESS_CONNECT_FAILED: (host: string, reason: string) => `egress failed: the connection to ${host} failed: ${reason}`,
  EGRESS_TLS_FAILED: (host: string, reason: string) => `egress failed: the TLS connection to ${host} failed: ${reason}`,
  EGRESS_BAD_RESPONSE: (host: string, reason: string) =>
    `egress failed: ${host} sent an invalid HTTP response: ${reason}`,
  EGRESS_BAD_HEADER: (reason: string) => `egress refused: ${reason}`,
  EGRESS_BAD_METHOD: (reason: string) => `egress refused: ${reason}`,
  EGRESS_REQUEST_TOO_LARGE: (bytes: number, limit: number) =>
    `egress refused: the request body is ${bytes} bytes, over the limit of ${limit} bytes`,
  EGRESS_RESPONSE_TOO_LARGE: (host: string, limit: number) =>
    `egress failed: the response from ${host} is over the limit of ${limit} bytes`,
  EGRESS_TOO_MANY_REDIRECTS: (limit: number) => `egress failed: more than ${limit} redirects`,
  EGRESS_TIMEOUT: (limit: number) => `egress failed: the request took longer than ${limit} ms (redirects included)`,
  EGRESS_ABORTED: () => "egress aborted: the request was cancelled",
} as const;

export type EgressErrorCode = keyof typeof MESSAGES;

export class EgressError extends Error {
  override name = "EgressError";
  readonly code: EgressErrorCode;
  constructor(code: EgressErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Builds the error `code` with its catalogue message: `egressError("EGRESS_TIMEOUT", [10_000])`. */
export function egressError<C extends EgressErrorCode>(
  code: C,
  args: Parameters<(typeof MESSAGES)[C]>,
  options?: ErrorOptions,
): EgressError {
  const message = (MESSAGES[code] as (...values: unknown[]) => string)(...args);
  return new EgressError(code, message, options);
}
