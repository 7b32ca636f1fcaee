/**
 * URLs the web app never answers, even to say "not found": they belong to the API, the OAuth
 * server, Isola's own MCP server, tenants' MCP endpoints and well-known documents, whose clients
 * expect JSON; but the OAuth sign-in and consent pages (/oauth/interaction/*) are the web app's,
 * and control passes them on. Unknown ones among them keep the JSON 404 they had before the web
 * role existed (the API's own prefix answers with problem details before this is asked).
 */
const PREFIXES = ["/api/", "/oauth/", "/.well-known/", "/_isola/"];
const EXACT = new Set(["/api", "/oauth", "/.well-known", "/_isola", "/mcp", "/sse", "/messages"]);
/** /<slug>/mcp and the legacy transport's /<slug>/sse and /<slug>/messages, however deep. */
const MCP_ENDPOINT = /\/(mcp|sse|messages)\/?$/;

/** The authorization server's sign-in and consent pages: below /oauth, but the web app's. */
const WEB_PAGES_BELOW_OAUTH = "/oauth/interaction/";

export function ownedByAnotherRole(path: string): boolean {
  const bare = path.split("?")[0] ?? path;
  if (bare.startsWith(WEB_PAGES_BELOW_OAUTH)) return false;
  return EXACT.has(bare) || PREFIXES.some((prefix) => bare.startsWith(prefix)) || MCP_ENDPOINT.test(bare);
}

/** Fastify's own 404 body, as these URLs answered before. */
export function jsonNotFound(method: string, url: string) {
  return { message: `Route ${method}:${url} not found`, error: "Not Found", statusCode: 404 };
}
