// CORS for browser-based MCP clients on the origins a server allows. Pure.
import { originAllowed } from "./negotiation.ts";

/** What a browser client must be able to send: the MCP headers and both ways of authenticating. */
const ALLOWED_REQUEST_HEADERS = [
  "authorization",
  "content-type",
  "last-event-id",
  "mcp-protocol-version",
  "mcp-session-id",
  "x-api-key",
].join(", ");

/** What a browser client must be able to read: the session, the auth challenge, the limits. */
const EXPOSED_HEADERS = ["mcp-session-id", "mcp-protocol-version", "www-authenticate", "retry-after"].join(", ");

export interface CorsPolicy {
  ownOrigin: string;
  allowedOrigins: readonly string[];
}

/**
 * Headers for an actual request: none without an Origin (not a browser) or for one the server
 * does not allow (the Origin check refuses those anyway). The origin is echoed, never "*", and
 * credentials (cookies) are never allowed: MCP clients authenticate with a header.
 */
export function corsHeaders(origin: string | undefined, policy: CorsPolicy): Record<string, string> {
  if (origin === undefined || !originAllowed(origin, policy.ownOrigin, policy.allowedOrigins)) return {};
  return { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSED_HEADERS, vary: "Origin" };
}

export type Preflight =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; status: 403 | 400; message: string };

/** The answer to OPTIONS: which methods and headers a browser may use, for an allowed origin only. */
export function preflight(
  origin: string | undefined,
  requestedMethod: string | undefined,
  methods: readonly string[],
  policy: CorsPolicy,
): Preflight {
  if (origin === undefined) return { ok: false, status: 400, message: "a preflight request names its Origin" };
  if (!originAllowed(origin, policy.ownOrigin, policy.allowedOrigins)) {
    return { ok: false, status: 403, message: `origin ${origin.slice(0, 100)} is not allowed for this server` };
  }
  if (requestedMethod !== undefined && !methods.includes(requestedMethod.toUpperCase())) {
    return { ok: false, status: 403, message: `${requestedMethod.slice(0, 20)} is not a method of this endpoint` };
  }
  return {
    ok: true,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": methods.join(", "),
      "access-control-allow-headers": ALLOWED_REQUEST_HEADERS,
      "access-control-max-age": "600",
      vary: "Origin",
    },
  };
}
