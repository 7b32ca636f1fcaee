import { createHash, randomUUID } from "node:crypto";

/** The header that carries a request's id in and out (and from a web node to control). */
export const REQUEST_ID_HEADER = "x-request-id";

// UUIDs, ULIDs, hex, base64 ids of proxies and load balancers: short, printable, no spaces or
// separators that would let a client forge fields in a log line or a header.
const WELL_FORMED = /^[A-Za-z0-9._:+/=-]{1,128}$/;

/**
 * A request's id: the one the client or a proxy sent in X-Request-Id when it is well formed (so
 * one id follows a request through proxies and nodes), else a new UUID.
 */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === "string" && WELL_FORMED.test(header) ? header : randomUUID();
}

/**
 * What logs call an MCP session: a digest of its id, the same on every node, so that the
 * requests of one session can be found together although each has a request id of its own.
 * Not the id itself: with a caller's token, a session id is enough to act in that session.
 */
export function sessionRef(sessionId: string): string {
  return createHash("sha256").update(sessionId).digest("base64url").slice(0, 16);
}
