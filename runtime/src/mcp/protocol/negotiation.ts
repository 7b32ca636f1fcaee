// Protocol versions, Accept headers and Origins: the checks before a message is read. Pure.

/** Newest first. 2025-03-26 is what a client that sends no MCP-Protocol-Version header gets. */
export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];
export const LATEST = PROTOCOL_VERSIONS[0];

/** initialize: echo the client's version when supported, else offer our latest (the client decides). */
export function negotiate(requested: unknown): ProtocolVersion {
  return (PROTOCOL_VERSIONS as readonly unknown[]).includes(requested) ? (requested as ProtocolVersion) : LATEST;
}

/**
 * The MCP-Protocol-Version header after initialize: absent is fine (2025-03-26 clients send
 * none); any supported version is accepted (not only the negotiated one: the official
 * conformance suite sends 2025-03-26 on sessions negotiated at 2025-11-25).
 */
export function checkVersionHeader(
  header: string | string[] | undefined,
): { ok: true } | { ok: false; message: string } {
  if (header === undefined) return { ok: true };
  const value = Array.isArray(header) ? header[0] : header;
  if ((PROTOCOL_VERSIONS as readonly string[]).includes(String(value).trim())) return { ok: true };
  return {
    ok: false,
    message: `unsupported MCP-Protocol-Version ${JSON.stringify(value)}; supported: ${PROTOCOL_VERSIONS.join(", ")}`,
  };
}

/** Whether an Accept header lists a media type (wildcards count; parameters and q-values are ignored). */
function accepts(header: string | undefined, type: string): boolean {
  if (!header) return false;
  const [major] = type.split("/");
  return header.split(",").some((part) => {
    const media = part.split(";")[0]?.trim().toLowerCase();
    return media === type || media === "*/*" || media === `${major}/*`;
  });
}

/** POST: a client must accept both JSON and SSE (the server chooses per request). */
export function acceptsPost(header: string | undefined): boolean {
  return accepts(header, "application/json") && accepts(header, "text/event-stream");
}

export function acceptsEventStream(header: string | undefined): boolean {
  return accepts(header, "text/event-stream");
}

/**
 * Origin validation against DNS rebinding and cross-site browsers: no Origin (not a browser)
 * passes; otherwise it must be this instance's own origin or one the server allows. Never "*".
 */
export function originAllowed(origin: string | undefined, ownOrigin: string, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  const normalised = origin.trim().toLowerCase().replace(/\/+$/, "");
  return normalised === ownOrigin.toLowerCase() || allowed.some((entry) => entry.toLowerCase() === normalised);
}
