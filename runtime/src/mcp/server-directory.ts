import {
  type AccessPolicy,
  type AuthMode,
  type Bus,
  type Database,
  type Manifest,
  SERVER_CHANGES,
  SERVER_SLUG,
  type ServerChanged,
  type ServerStatus,
  serverChanged,
} from "@isola/schema";
import type { Kysely } from "kysely";
import { ExpiringCache } from "./expiring-cache.ts";

/** What the call path needs to know about a server, read in one query and cached. */
export interface ServerRecord {
  id: string;
  slug: string;
  orgId: string;
  status: ServerStatus;
  authMode: AuthMode;
  accessPolicy: AccessPolicy;
  allowedOrigins: string[];
  legacySse: boolean;
  customDomain: string | null;
  egressApproved: string[];
  version: { id: string; number: number; hash: string; manifest: Manifest } | null;
  plan: { rateLimitPerMinute: number; callsPerMonth: number; memoryMb: number };
}

/** When the server's org has no plan row: generous, but limits still hold. */
const FALLBACK_PLAN = { rateLimitPerMinute: 600, callsPerMonth: 1_000_000, memoryMb: 64 };

/**
 * Servers by slug and by host, cached in memory. The control plane announces every change on
 * the Bus, so the cache is invalidated at once on every node; the TTL is the backstop for an
 * announcement missed while Redis was away. Unknown slugs are cached briefly too, so that a
 * flood of them does not become a flood of queries.
 */
export class ServerDirectory {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #ttlMs: number;
  readonly #missTtlMs: number;
  readonly #entries: ExpiringCache<ServerRecord | null>;
  readonly #listeners: ((change: ServerChanged) => void)[] = [];
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    db: Kysely<Database>,
    bus: Bus,
    options: { ttlMs?: number; missTtlMs?: number; now?: () => number } = {},
  ) {
    this.#db = db;
    this.#bus = bus;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#missTtlMs = options.missTtlMs ?? 2000;
    this.#entries = new ExpiringCache({ maxEntries: 100_000, now: options.now ?? Date.now });
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#bus.subscribe(SERVER_CHANGES, (message) => {
      const parsed = serverChanged.safeParse(JSON.parse(message));
      if (!parsed.success) return;
      this.invalidate(parsed.data.slug);
      for (const listener of this.#listeners) listener(parsed.data);
    });
  }

  /** Called with every change announced (after the cache is invalidated). */
  onChange(listener: (change: ServerChanged) => void): void {
    this.#listeners.push(listener);
  }

  invalidate(slug?: string): void {
    if (slug === undefined) this.#entries.clear();
    else this.#entries.deleteWhere((key) => key === `slug:${slug}` || key.startsWith("host:"));
  }

  bySlug(slug: string): Promise<ServerRecord | null> {
    // What cannot be a slug is no server, without a query (a NUL byte would fail one).
    if (!SERVER_SLUG.test(slug)) return Promise.resolve(null);
    return this.#cached(`slug:${slug}`, () => this.#load("slug", slug));
  }

  /** A custom domain's server. */
  byCustomDomain(host: string): Promise<ServerRecord | null> {
    if (!/^[a-z0-9.-]{1,253}$/.test(host)) return Promise.resolve(null);
    return this.#cached(`host:${host}`, () => this.#load("custom_domain", host));
  }

  #cached(key: string, load: () => Promise<ServerRecord | null>): Promise<ServerRecord | null> {
    // While the database is away, a known server goes on being served (ExpiringCache).
    return this.#entries.get(key, load, (record) => (record ? this.#ttlMs : this.#missTtlMs));
  }

  async #load(column: "slug" | "custom_domain", value: string): Promise<ServerRecord | null> {
    const row = await this.#db
      .selectFrom("servers as s")
      .innerJoin("orgs as o", "o.id", "s.org_id")
      .leftJoin("plans as p", "p.id", "o.plan_id")
      .leftJoin("server_versions as v", "v.id", "s.active_version_id")
      .select([
        "s.id",
        "s.slug",
        "s.org_id",
        "s.status",
        "s.auth_mode",
        "s.access_policy",
        "s.allowed_origins",
        "s.legacy_sse",
        "s.custom_domain",
        "s.egress_approved",
        "v.id as version_id",
        "v.number as version_number",
        "v.hash as version_hash",
        "v.manifest as version_manifest",
        "p.rate_limit_per_minute",
        "p.calls_per_month",
        "p.memory_mb",
      ])
      .where(`s.${column}`, "=", value)
      .executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      slug: row.slug,
      orgId: row.org_id,
      status: row.status,
      authMode: row.auth_mode,
      accessPolicy: row.access_policy,
      allowedOrigins: row.allowed_origins,
      legacySse: row.legacy_sse,
      customDomain: row.custom_domain,
      egressApproved: row.egress_approved,
      version:
        row.version_id && row.version_number !== null && row.version_hash && row.version_manifest
          ? { id: row.version_id, number: row.version_number, hash: row.version_hash, manifest: row.version_manifest }
          : null,
      plan: {
        rateLimitPerMinute: row.rate_limit_per_minute ?? FALLBACK_PLAN.rateLimitPerMinute,
        callsPerMonth: row.calls_per_month ?? FALLBACK_PLAN.callsPerMonth,
        memoryMb: row.memory_mb ?? FALLBACK_PLAN.memoryMb,
      },
    };
  }

  async close(): Promise<void> {
    await this.#unsubscribe?.();
  }
}
