import { type Bus, type Database, type GrantView, OAUTH_GRANT_REVOKED } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { dashboardGrantIsLive, isDashboardGrant } from "./dashboard-tokens.ts";
import { parseResource, type ResourceUrlOptions } from "./resources.ts";

// A user's grants, read and revoked in the authorization server's storage directly (oauth_models):
// any node of the control plane can answer, with or without the authorization server's keys.

interface GrantPayload {
  clientId?: string;
  iat?: number;
  exp?: number;
  resources?: Record<string, string>;
}

/** The grants of `accountId` that have not expired, newest first. */
export async function listGrants(
  db: Kysely<Database>,
  accountId: string,
  urls: ResourceUrlOptions,
  now = new Date(),
): Promise<GrantView[]> {
  const rows = await db
    .selectFrom("oauth_models")
    .select(["id", "payload", "created_at", "expires_at"])
    .where("model", "=", "Grant")
    .where("account_id", "=", accountId)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .orderBy("created_at", "desc")
    .orderBy("id")
    .execute();
  const payloads = rows.map((row) => row.payload as GrantPayload);
  const clientIds = [...new Set(payloads.map((payload) => payload.clientId ?? ""))].filter(Boolean);
  const clients = clientIds.length
    ? await db
        .selectFrom("oauth_models")
        .select(["id", "payload"])
        .where("model", "=", "Client")
        .where("id", "in", clientIds)
        .execute()
    : [];
  const names = new Map(clients.map((client) => [client.id, client.payload.client_name]));
  const slugs = await serverSlugs(db, payloads, urls);
  return rows.map((row, i) => {
    const payload = payloads[i] as GrantPayload;
    const clientId = payload.clientId ?? "";
    const name = names.get(clientId);
    return {
      id: row.id,
      client: { id: clientId, name: typeof name === "string" ? name : null },
      resources: Object.entries(payload.resources ?? {}).map(([url, scope]) => ({
        url,
        server: slugs.get(url) ?? null,
        scopes: scope.split(" ").filter(Boolean),
      })),
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at?.toISOString() ?? null,
    };
  });
}

/** Each resource URL's server slug, for the servers that still exist. */
async function serverSlugs(
  db: Kysely<Database>,
  payloads: GrantPayload[],
  urls: ResourceUrlOptions,
): Promise<Map<string, string>> {
  const refs = payloads.flatMap((payload) =>
    Object.keys(payload.resources ?? {}).flatMap((url) => {
      const parsed = parseResource(url, urls);
      return parsed.ok ? [{ url, ref: parsed.ref }] : [];
    }),
  );
  const slugs = [...new Set(refs.flatMap(({ ref }) => (ref.by === "slug" ? [ref.slug] : [])))];
  const hosts = [...new Set(refs.flatMap(({ ref }) => (ref.by === "domain" ? [ref.host] : [])))];
  if (slugs.length === 0 && hosts.length === 0) return new Map();
  const servers = await db
    .selectFrom("servers")
    .select(["slug", "custom_domain"])
    .where((eb) =>
      eb.or([
        ...(slugs.length ? [eb("slug", "in", slugs)] : []),
        ...(hosts.length ? [eb("custom_domain", "in", hosts)] : []),
      ]),
    )
    .execute();
  const bySlug = new Set(servers.map((server) => server.slug));
  const byHost = new Map(servers.map((server) => [server.custom_domain, server.slug]));
  const found = new Map<string, string>();
  for (const { url, ref } of refs) {
    const slug = ref.by === "slug" ? (bySlug.has(ref.slug) ? ref.slug : undefined) : byHost.get(ref.host);
    if (slug) found.set(url, slug);
  }
  return found;
}

/**
 * Revokes a grant of `accountId`: the grant and everything issued under it (refresh tokens,
 * codes) are deleted at once, so the next refresh fails, and so does the runtime's check of the
 * grant's access tokens (after `announceGrantRevoked`, at once on every node). False when the
 * account has no such grant. Run it in a transaction (with the audit record).
 */
export async function revokeGrant(db: Kysely<Database>, accountId: string, grantId: string): Promise<boolean> {
  const grant = await db
    .selectFrom("oauth_models")
    .select("id")
    .where("model", "=", "Grant")
    .where("id", "=", grantId)
    .where("account_id", "=", accountId)
    .forUpdate()
    .executeTakeFirst();
  if (!grant) return false;
  await db.deleteFrom("oauth_models").where("grant_id", "=", grantId).execute();
  return true;
}

/** The newest grant `accountId` gave `clientId`, to remember a consent across sign-ins. */
export async function latestGrantId(
  db: Kysely<Database>,
  accountId: string,
  clientId: string,
  now = new Date(),
): Promise<string | undefined> {
  const row = await db
    .selectFrom("oauth_models")
    .select("id")
    .where("model", "=", "Grant")
    .where("account_id", "=", accountId)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .where(sql<string>`payload->>'clientId'`, "=", clientId)
    .orderBy("created_at", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

/**
 * Whether a grant still stands: not revoked (its row deleted) and not expired. A dashboard token's
 * grant stands while the session or PAT that minted it does (dashboard-tokens.ts).
 */
export async function grantIsLive(db: Kysely<Database>, grantId: string, now = new Date()): Promise<boolean> {
  if (isDashboardGrant(grantId)) return dashboardGrantIsLive(db, grantId, now);
  const row = await db
    .selectFrom("oauth_models")
    .select("id")
    .where("model", "=", "Grant")
    .where("id", "=", grantId)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .executeTakeFirst();
  return row !== undefined;
}

/** Tells every runtime node to forget the tokens it verified for a revoked grant. Best effort: without the Bus they stop within a minute. */
export async function announceGrantRevoked(bus: Bus, grantId: string): Promise<void> {
  await bus.publish(OAUTH_GRANT_REVOKED, grantId).catch(() => {});
}
