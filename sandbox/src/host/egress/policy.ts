import { isIP } from "node:net";
import { egressError } from "./errors.ts";

/** What the server's owner and the operator allow a server's tool code to reach. */
export interface EgressPolicy {
  /** Hosts the server declared and its owner approved: exact ("api.example.com") or "*.example.com" (any subdomain, not the apex). Case-insensitive; a trailing dot is ignored. */
  allowedHosts: string[];
  /** Operator switch: hosts (same pattern syntax) that may be reached over plain http. Default: none (https only). */
  allowHttpHosts?: string[];
  /** Operator switch for self-hosting on a LAN: allow private/loopback/link-local/CGNAT/ULA addresses. Metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200, etc.) stay refused even then. Default false. */
  allowPrivateNetworks?: boolean;
  /** Per request, whole exchange including redirects. Default 10_000. */
  timeoutMs?: number;
  /** Response body cap. Default 5 MiB. */
  maxResponseBytes?: number;
  /** Request body cap. Default 1 MiB. */
  maxRequestBytes?: number;
  /** Default 5. */
  maxRedirects?: number;
}

// ---------------------------------------------------------------- URLs and hosts

export interface CheckedUrl {
  url: URL;
  /** Lowercase, punycode, no trailing dot, IPv6 without brackets: what we resolve, connect to and verify TLS for. */
  hostname: string;
  /** 4 or 6 when the host is an IP literal (nothing to resolve), else 0. */
  ipLiteral: 0 | 4 | 6;
}

/**
 * Checks a URL against the scheme and host rules (the same checks for the first request and
 * every redirect). Any port is allowed: the owner approved the host, not a port, and APIs run
 * on 8443 and the like; what port rules usually protect (services on internal addresses) the
 * address checks already refuse. Messages never echo the URL: its path or query may hold secrets.
 */
export function checkUrl(raw: string, policy: Pick<EgressPolicy, "allowedHosts" | "allowHttpHosts">): CheckedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw egressError("EGRESS_BAD_URL", ["the URL is not a valid absolute URL"]);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw egressError("EGRESS_SCHEME_REFUSED", [
      `the scheme "${url.protocol}" is not supported; use https: (or http: for a host the operator allows)`,
    ]);
  }
  if (url.username !== "" || url.password !== "") {
    throw egressError("EGRESS_BAD_URL", [
      "credentials in the URL (user:password@host) are not allowed; send them in a header",
    ]);
  }
  const hostname = normalizeHost(url.hostname);
  if (!hostAllowed(hostname, policy.allowedHosts)) throw egressError("EGRESS_HOST_NOT_ALLOWED", [hostname]);
  if (url.protocol === "http:" && !hostAllowed(hostname, policy.allowHttpHosts ?? [])) {
    throw egressError("EGRESS_SCHEME_REFUSED", [
      `plain http to ${hostname} is not allowed; use https (the operator can allow http for specific hosts)`,
    ]);
  }
  const family = isIP(hostname);
  return { url, hostname, ipLiteral: family === 4 || family === 6 ? family : 0 };
}

/** Whether `hostname` (as URL gives it) matches one of the patterns: exact, or "*.suffix" for any subdomain. */
export function hostAllowed(hostname: string, patterns: readonly string[]): boolean {
  const host = normalizeHost(hostname);
  return patterns.some((pattern) => hostMatches(host, pattern));
}

function hostMatches(host: string, pattern: string): boolean {
  if (!pattern.startsWith("*.")) return canonicalPattern(pattern) === host;
  const suffix = canonicalPattern(pattern.slice(2));
  // A wildcard names subdomains; an IP literal has none ("*.0.0.1" must not match 10.0.0.1).
  if (suffix === undefined || isIP(host) !== 0) return false;
  return host.endsWith(`.${suffix}`);
}

/** A pattern in the form URL gives hostnames (punycode, lowercase, canonical IP), or undefined when it is not a host. */
function canonicalPattern(pattern: string): string | undefined {
  if (pattern === "" || pattern.includes("*")) return undefined;
  const bare = pattern.startsWith("[") && pattern.endsWith("]") ? pattern.slice(1, -1) : pattern;
  try {
    return normalizeHost(new URL(`https://${isIP(bare) === 6 ? `[${bare}]` : bare}/`).hostname);
  } catch {
    return undefined;
  }
}

function normalizeHost(hostname: string): string {
  const host = hostname.toLowerCase();
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return bare.endsWith(".") ? bare.slice(0, -1) : bare;
}

// ---------------------------------------------------------------- addresses

export type AddressCategory =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "shared"
  | "benchmarking"
  | "unspecified"
  | "broadcast"
  | "multicast"
  | "reserved"
  | "documentation"
  | "teredo"
  | "metadata"
  | "invalid";

/** Reachable only when the operator sets allowPrivateNetworks (self-hosting on a LAN). */
const LAN: ReadonlySet<AddressCategory> = new Set(["loopback", "private", "link-local", "shared", "benchmarking"]);

export interface AddressVerdict {
  allowed: boolean;
  category: AddressCategory;
  /** For messages: "in 10.0.0.0/8 (private network)", "IPv4-mapped, embedding 10.0.0.1 in 10.0.0.0/8 (private network)". */
  description: string;
  /** Reachable with allowPrivateNetworks. */
  lanOnly: boolean;
}

/**
 * Classifies an address (as a resolver or a URL gives it) and says whether tool code may reach it.
 * Public unicast always; LAN ranges only with allowPrivateNetworks; metadata services, "this
 * host", multicast, broadcast and ranges that route nowhere (documentation, reserved) never.
 */
export function checkAddress(address: string, allowPrivateNetworks: boolean): AddressVerdict {
  const { category, description } = classify(address);
  const allowed = category === "public" || (allowPrivateNetworks && LAN.has(category));
  return { allowed, category, description, lanOnly: LAN.has(category) };
}

interface Range {
  bytes: number[];
  bits: number;
  category: AddressCategory;
  name: string;
  label: string;
}

const range = (cidr: string, category: AddressCategory, name: string): Range => {
  const [text = "", bits = ""] = cidr.split("/");
  const bytes = parseIPv4(text) ?? parseIPv6(text);
  if (bytes === undefined) throw new Error(`bad range ${cidr}`);
  return { bytes, bits: Number(bits), category, name, label: `${cidr} (${name})` };
};

// Cloud metadata and platform services: never reachable, whatever the operator allows.
const METADATA = [
  range("169.254.169.254/32", "metadata", "cloud metadata service"),
  range("169.254.170.2/32", "metadata", "container metadata service"),
  range("169.254.170.23/32", "metadata", "EKS pod identity agent"),
  range("100.100.100.200/32", "metadata", "Alibaba Cloud metadata service"),
  range("168.63.129.16/32", "metadata", "Azure platform service"),
  range("fd00:ec2::254/128", "metadata", "AWS metadata service"),
  range("fd00:ec2::23/128", "metadata", "EKS pod identity agent"),
];

// First match wins, so a narrow range sits before the wide one holding it.
const IPV4: Range[] = [
  ...METADATA.filter((r) => r.bytes.length === 4),
  range("0.0.0.0/8", "unspecified", "this host"),
  range("10.0.0.0/8", "private", "private network"),
  range("100.64.0.0/10", "shared", "carrier-grade NAT"),
  range("127.0.0.0/8", "loopback", "loopback"),
  range("169.254.0.0/16", "link-local", "link-local"),
  range("172.16.0.0/12", "private", "private network"),
  range("192.0.0.0/24", "reserved", "IETF protocol assignments"),
  range("192.0.2.0/24", "documentation", "documentation"),
  range("192.88.99.0/24", "reserved", "6to4 relay anycast"),
  range("192.168.0.0/16", "private", "private network"),
  range("198.18.0.0/15", "benchmarking", "benchmarking"),
  range("198.51.100.0/24", "documentation", "documentation"),
  range("203.0.113.0/24", "documentation", "documentation"),
  range("224.0.0.0/4", "multicast", "multicast"),
  range("255.255.255.255/32", "broadcast", "broadcast"),
  range("240.0.0.0/4", "reserved", "reserved"),
];

// IPv6 forms that carry an IPv4 address (from byte `at`), judged by that address: they reach it
// through the host's own stack, a translator or a relay. Their category comes from the IPv4 address.
const EMBEDDING: { form: Range; at: number }[] = [
  { form: range("::ffff:0:0/96", "public", "IPv4-mapped"), at: 12 },
  { form: range("::ffff:0:0:0/96", "public", "IPv4-translated"), at: 12 },
  { form: range("64:ff9b::/96", "public", "NAT64"), at: 12 },
  { form: range("2002::/16", "public", "6to4"), at: 2 },
  // Last, and after the IPV6 table, which matches "::" and "::1".
  { form: range("::/96", "public", "IPv4-compatible"), at: 12 },
];

const IPV6: Range[] = [
  ...METADATA.filter((r) => r.bytes.length === 16),
  range("::/128", "unspecified", "this host"),
  range("::1/128", "loopback", "loopback"),
  range("64:ff9b:1::/48", "private", "local-use NAT64"),
  range("100::/64", "reserved", "discard-only"),
  range("2001::/32", "teredo", "Teredo tunnelling"),
  range("2001:2::/48", "benchmarking", "benchmarking"),
  range("2001:db8::/32", "documentation", "documentation"),
  range("3fff::/20", "documentation", "documentation"),
  range("5f00::/16", "reserved", "SRv6 segment identifiers"),
  range("fc00::/7", "private", "unique local"),
  range("fe80::/10", "link-local", "link-local"),
  range("fec0::/10", "reserved", "deprecated site-local"),
  range("ff00::/8", "multicast", "multicast"),
];

// Only 2000::/3 is allocated for global unicast; anything else routes nowhere public.
const GLOBAL_UNICAST = range("2000::/3", "public", "global unicast");

function classify(address: string): { category: AddressCategory; description: string } {
  const family = isIP(address);
  if (family === 4) {
    const bytes = parseIPv4(address);
    if (bytes === undefined) return { category: "invalid", description: "not an IP address" };
    const found = IPV4.find((r) => inRange(bytes, r));
    return found ? { category: found.category, description: `in ${found.label}` } : publicAddress;
  }
  if (family !== 6) return { category: "invalid", description: "not an IP address" };
  if (address.includes("%")) return { category: "invalid", description: "an address with a zone id" };
  const bytes = parseIPv6(address);
  if (bytes === undefined) return { category: "invalid", description: "not an IP address" };
  const found = IPV6.find((r) => inRange(bytes, r));
  if (found) return { category: found.category, description: `in ${found.label}` };
  for (const { form, at } of EMBEDDING) {
    if (!inRange(bytes, form)) continue;
    const embedded = bytes.slice(at, at + 4).join(".");
    const inner = classify(embedded);
    return { category: inner.category, description: `${form.name}, embedding ${embedded} ${inner.description}` };
  }
  if (!inRange(bytes, GLOBAL_UNICAST))
    return { category: "reserved", description: "outside 2000::/3 (global unicast)" };
  return publicAddress;
}

const publicAddress = { category: "public", description: "a public address" } as const;

function inRange(bytes: number[], r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  for (let bit = 0; bit < r.bits; bit += 8) {
    const mask = r.bits - bit >= 8 ? 0xff : (0xff << (8 - (r.bits - bit))) & 0xff;
    if (((bytes[bit / 8] ?? 0) & mask) !== ((r.bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

/** Dotted decimal, four parts, no leading zeros (the only form resolvers and URL produce). */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes.push(Number(part));
  }
  return bytes;
}

/** 16 bytes from any textual IPv6 form: "::" compression, an IPv4 tail; no zone id. */
function parseIPv6(text: string): number[] | undefined {
  let hex = text;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    const group = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    hex = `${text.slice(0, lastColon + 1)}${group(v4[0] ?? 0, v4[1] ?? 0)}:${group(v4[2] ?? 0, v4[3] ?? 0)}`;
  }
  const halves = hex.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groupsOf(halves[0] ?? "");
  const right = halves.length === 2 ? groupsOf(halves[1] ?? "") : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    const value = Number.parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}
