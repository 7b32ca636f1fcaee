import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { DASHBOARD_CLIENT_ID, DASHBOARD_TOKEN_SECONDS, type Database, GRANT_CLAIM } from "@isola/schema";
import type { Kysely } from "kysely";
import type { Actor } from "../auth/actor.ts";
import type { SigningJwk } from "./signing-keys.ts";

/**
 * Dashboard tokens: access tokens the control plane mints for the web playground, shaped like the
 * authorization server's own (ES256 with its signing key, same `iss`, `aud` one server's resource
 * URL, a grant claim) so that the runtime verifies them the same way. Their grant is not an OAuth
 * grant but the credential that minted them: `dashboard:session:<session id>` (the id is already a
 * hash of the cookie) or `dashboard:pat:<token id>`. The token stands only while that credential
 * does, so signing out or revoking the PAT kills it before its five minutes are up.
 */

const GRANT_PREFIX = "dashboard:";

/** The grant of the dashboard tokens a personal access token minted. */
export const patGrantId = (tokenId: string) => `${GRANT_PREFIX}pat:${tokenId}`;

/** The grant of the dashboard tokens a browser session minted. */
export const sessionGrantId = (sessionId: string) => `${GRANT_PREFIX}session:${sessionId}`;

/** The grant a dashboard token minted by `actor` names; undefined for callers that cannot mint. */
export function dashboardGrantId(actor: Actor): string | undefined {
  if (actor.via === "session") return sessionGrantId(actor.sessionId);
  if (actor.via === "token") return patGrantId(actor.tokenId);
  return undefined;
}

export const isDashboardGrant = (grantId: string) => grantId.startsWith(GRANT_PREFIX);

/** Parses a dashboard grant id. Pure. */
export function parseDashboardGrant(grantId: string): { kind: "session" | "pat"; id: string } | undefined {
  const match = /^dashboard:(session|pat):([\w-]{1,200})$/.exec(grantId);
  return match ? { kind: match[1] as "session" | "pat", id: match[2] as string } : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the session or PAT that minted a dashboard token still stands (exists, not expired, not revoked). */
export async function dashboardGrantIsLive(db: Kysely<Database>, grantId: string, now: Date): Promise<boolean> {
  const grant = parseDashboardGrant(grantId);
  if (!grant) return false;
  if (grant.kind === "session") {
    const row = await db
      .selectFrom("sessions")
      .select("id")
      .where("id", "=", grant.id)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return row !== undefined;
  }
  if (!UUID.test(grant.id)) return false;
  const row = await db
    .selectFrom("personal_access_tokens")
    .select("id")
    .where("id", "=", grant.id)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
    .executeTakeFirst();
  return row !== undefined;
}

export interface DashboardTokenClaims {
  issuer: string;
  /** The server's resource URL as the runtime forms it. */
  audience: string;
  subject: string;
  scopes: string[];
  grantId: string;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Signs a dashboard token (ES256, as oidc-provider signs its JWT access tokens). */
export function mintDashboardToken(
  key: SigningJwk,
  claims: DashboardTokenClaims,
  now = new Date(),
): { token: string; expiresAt: Date } {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + DASHBOARD_TOKEN_SECONDS;
  const header = { alg: "ES256", typ: "at+jwt", kid: key.kid };
  const payload = {
    iss: claims.issuer,
    aud: claims.audience,
    sub: claims.subject,
    client_id: DASHBOARD_CLIENT_ID,
    scope: claims.scopes.join(" "),
    [GRANT_CLAIM]: claims.grantId,
    jti: randomUUID(),
    iat,
    exp,
  };
  const input = `${base64url(header)}.${base64url(payload)}`;
  const privateKey = createPrivateKey({ key: { ...key }, format: "jwk" });
  const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return { token: `${input}.${signature.toString("base64url")}`, expiresAt: new Date(exp * 1000) };
}
