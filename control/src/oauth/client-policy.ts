// What a client may register (RFC 7591), beyond what oidc-provider checks itself: every
// registration is open and anonymous, and its name and URIs are shown to users on the consent
// page, so they are bounded, free of control characters, and redirect only where it is safe.
// Pure: applied to dynamic registrations, metadata documents and the operator's clients alike.

export const LIMITS = {
  name: 100,
  uri: 2000,
  redirectUris: 10,
  contacts: 5,
  contact: 254,
} as const;

/** Hosts an http: redirect URI may use: the client's own machine (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Schemes that are never a redirect target, native or not. */
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:", "filesystem:"]);

/** URIs shown or followed besides the redirect URIs. */
const OTHER_URIS = ["client_uri", "logo_uri", "policy_uri", "tos_uri", "jwks_uri", "initiate_login_uri"] as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export interface PolicyRefusal {
  /** RFC 7591 §3.2.2 error code (oidc-provider derives it from a description that starts with "redirect_uris"). */
  error: "invalid_redirect_uri" | "invalid_client_metadata";
  description: string;
}

function checkText(name: string, value: unknown, max: number): PolicyRefusal | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") return { error: "invalid_client_metadata", description: `${name} must be a string` };
  if (value.length > max)
    return { error: "invalid_client_metadata", description: `${name} is longer than ${max} characters` };
  if (CONTROL.test(value))
    return { error: "invalid_client_metadata", description: `${name} contains a control character` };
  return null;
}

/** Why a redirect URI may not be registered, or null when it may. */
export function redirectUriProblem(uri: unknown, applicationType: unknown): string | null {
  if (typeof uri !== "string") return "redirect_uris must be strings";
  if (uri.length > LIMITS.uri) return `a redirect URI is longer than ${LIMITS.uri} characters`;
  if (CONTROL.test(uri)) return "a redirect URI contains a control character";
  const url = URL.parse(uri);
  if (!url) return `${uri} is not an absolute URI`;
  if (url.hash || uri.includes("#")) return `${uri} has a fragment`;
  if (url.username || url.password) return `${uri} carries credentials`;
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:") {
    return LOOPBACK_HOSTS.has(url.hostname) ? null : `${uri}: http is allowed only for localhost, 127.0.0.1 and [::1]`;
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `${uri}: the ${url.protocol.slice(0, -1)} scheme is not allowed`;
  if (applicationType !== "native") {
    return `${uri}: a custom scheme needs "application_type": "native"; web clients use https or a loopback http URI`;
  }
  return null;
}

/**
 * The first reason to refuse `metadata`, or null. Also drops `scope`: oidc-provider would make a
 * registered scope the client's allow-list of the scopes it knows, and Isola's scopes are the
 * servers' (per resource, and new ones appear when a server declares them for step-up).
 */
export function applyClientPolicy(metadata: Record<string, unknown>): PolicyRefusal | null {
  delete metadata.scope;
  const redirectUris = metadata.redirect_uris;
  if (Array.isArray(redirectUris)) {
    if (redirectUris.length > LIMITS.redirectUris) {
      return {
        error: "invalid_redirect_uri",
        description: `redirect_uris: register at most ${LIMITS.redirectUris} redirect URIs`,
      };
    }
    for (const uri of redirectUris) {
      const problem = redirectUriProblem(uri, metadata.application_type);
      if (problem) return { error: "invalid_redirect_uri", description: `redirect_uris: ${problem}` };
    }
  }
  const checks = [
    checkText("client_name", metadata.client_name, LIMITS.name),
    ...OTHER_URIS.map((name) => checkText(name, metadata[name], LIMITS.uri)),
  ];
  const contacts = metadata.contacts;
  if (Array.isArray(contacts)) {
    if (contacts.length > LIMITS.contacts) {
      return { error: "invalid_client_metadata", description: `list at most ${LIMITS.contacts} contacts` };
    }
    checks.push(...contacts.map((contact) => checkText("a contact", contact, LIMITS.contact)));
  }
  return checks.find((problem) => problem !== null) ?? null;
}
