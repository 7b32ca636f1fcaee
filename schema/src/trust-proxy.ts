import { isIP } from "node:net";

/**
 * Which proxies may tell a node the client's address (X-Forwarded-For): their addresses, CIDR
 * ranges and named ranges (loopback, linklocal, uniquelocal), as Fastify's `trustProxy` takes
 * them. Never "everyone", nor a hop count (Fastify refuses hop counts: they cannot tell a proxy
 * from a client that writes the header itself): a node reachable without its proxy would take
 * any client's word for its address, and per-address limits (sign-in attempts, anonymous MCP
 * callers, client registration) with it.
 */
export type TrustProxy = string[];

const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = "", prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** The parsed setting, or why it is refused. */
export function parseTrustProxy(value: string): { ok: true; value: TrustProxy } | { ok: false; error: string } {
  const entries = value.split(",").map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isAddressOrRange(entry));
  if (bad.length === 0) return { ok: true, value: entries };
  return {
    ok: false,
    error: `expected a comma-separated list of the proxies' addresses or CIDR ranges, or loopback, linklocal, uniquelocal; not an address or range: ${bad.map((entry) => JSON.stringify(entry)).join(", ")}`,
  };
}
