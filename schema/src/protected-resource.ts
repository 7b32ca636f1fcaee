// OAuth 2.0 Protected Resource Metadata (RFC 9728) for an MCP endpoint (a tenant server's, or
// Isola's own at /_isola/mcp), and the WWW-Authenticate challenge that points clients at it. Pure;
// here so that the runtime and the control plane share it.

export interface ResourceUrls {
  /** The MCP endpoint: the token audience (https://HOST/<slug>/mcp or https://<slug>.<domain>/mcp). */
  resource: string;
  /** Where its metadata is served. */
  metadataUrl: string;
}

/**
 * Path-routed servers put the resource path after the well-known prefix (RFC 9728 §3.1):
 * /.well-known/oauth-protected-resource/<slug>/mcp. There is never a root document on a
 * path-routed host: a client would use its `resource` as the audience, and a root resource
 * would mint tokens valid for every server.
 */
export function resourceUrls(origin: string, path: string): ResourceUrls {
  return { resource: `${origin}${path}`, metadataUrl: `${origin}/.well-known/oauth-protected-resource${path}` };
}

export function protectedResourceMetadata(urls: ResourceUrls, issuer: string, scopes: string[], name: string) {
  return {
    resource: urls.resource,
    authorization_servers: [issuer],
    scopes_supported: scopes,
    bearer_methods_supported: ["header"],
    resource_name: name,
  };
}

/** The challenge of a 401 (no or bad token) or a 403 (insufficient_scope, for step-up). */
export function bearerChallenge(
  urls: ResourceUrls,
  scopes: string[],
  error?: { code: "invalid_token" | "insufficient_scope"; description: string },
): string {
  const parts = [`resource_metadata="${urls.metadataUrl}"`];
  if (scopes.length > 0) parts.push(`scope="${scopes.join(" ")}"`);
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description.replaceAll('"', "'")}"`);
  return `Bearer ${parts.join(", ")}`;
}
