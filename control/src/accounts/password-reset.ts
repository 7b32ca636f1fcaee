import type { Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { hashToken, newToken } from "../auth/secrets-at-rest.ts";
import { problem } from "../http/problems.ts";
import type { AttemptLimit } from "./sign-in.ts";

// A password reset: a single-use link, one pending per account, stored as its token's sha256.

/** How long a reset link works. */
export const RESET_LINK_MINUTES = 30;

/**
 * Reset requests per email (3, then one every 5 minutes: each one may send a message to that
 * address) and per address (10, then one every 90 s). Keyed by the email as given, account or
 * not, so that a refusal says nothing about whether it has one.
 */
export const PASSWORD_RESET_LIMIT: AttemptLimit = {
  name: "reset",
  perEmail: { capacity: 3, refillPerSecond: 3 / 900 },
  perAddress: { capacity: 10, refillPerSecond: 10 / 900 },
};

export interface IssuedReset {
  /** The account's email, as stored. */
  email: string;
  token: string;
  expiresAt: Date;
}

/** A new reset token for the account with this email (any pending one stops working), or null when there is none. */
export async function issueResetToken(db: Kysely<Database>, email: string, now: Date): Promise<IssuedReset | null> {
  const user = await db
    .selectFrom("users")
    .select(["id", "email"])
    .where(sql`lower(email)`, "=", email.toLowerCase())
    .executeTakeFirst();
  if (!user) return null;
  const { token, hash } = newToken("passwordReset");
  const expiresAt = new Date(now.getTime() + RESET_LINK_MINUTES * 60_000);
  const pending = { token_hash: hash, created_at: now, expires_at: expiresAt, used_at: null };
  // One row per account: a new request replaces the pending link, atomically under concurrent requests.
  await db
    .insertInto("password_resets")
    .values({ user_id: user.id, ...pending })
    .onConflict((conflict) => conflict.column("user_id").doUpdateSet(pending))
    .execute();
  return { email: user.email, token, expiresAt };
}

/** Why a link does not work, in words for the person holding it; undefined when it works. Pure. */
export function resetLinkRefusal(
  reset: { expires_at: Date; used_at: Date | null } | undefined,
  now: Date,
): string | undefined {
  // The words say what is wrong with the link, never whose it is.
  if (!reset) return "this password reset link is not valid (mistyped, or replaced by a newer one); ask for a new one";
  if (reset.used_at) return "this password reset link was already used; ask for a new one";
  if (reset.expires_at <= now)
    return `this password reset link has expired (it works ${RESET_LINK_MINUTES} minutes); ask for a new one`;
  return undefined;
}

async function findReset(db: Kysely<Database>, token: string, lock: boolean) {
  let query = db
    .selectFrom("password_resets as r")
    .innerJoin("users as u", "u.id", "r.user_id")
    .select(["r.user_id", "r.expires_at", "r.used_at", "u.email"])
    .where("r.token_hash", "=", hashToken(token));
  if (lock) query = query.forUpdate("r");
  return query.executeTakeFirst();
}

/** Refuses a link that does not work (400 reset-link-invalid): checked before the new password is hashed. */
export async function checkResetToken(db: Kysely<Database>, token: string, now: Date): Promise<void> {
  const refusal = resetLinkRefusal(await findReset(db, token, false), now);
  if (refusal) throw problem("reset-link-invalid", refusal);
}

export interface RedeemedReset {
  userId: string;
  email: string;
  /** The account's browser sessions signed out. */
  sessionsEnded: number;
}

/**
 * In `trx`: sets the password of the link's account and uses the link up; signs the account
 * out everywhere a password signed it in (its browser sessions, its sign-in at the OAuth
 * authorization server). Personal access tokens, API keys and OAuth grants stay: they were
 * made on purpose, are listed and revocable one by one (GET /me/tokens, /me/grants).
 */
export async function redeemResetToken(
  trx: Kysely<Database>,
  token: string,
  passwordHash: string,
  now: Date,
): Promise<RedeemedReset> {
  // The row lock makes the link single use: a second confirm waits, then sees it used.
  const reset = await findReset(trx, token, true);
  const refusal = resetLinkRefusal(reset, now);
  if (refusal || !reset) throw problem("reset-link-invalid", refusal ?? "this password reset link is not valid");
  await trx.updateTable("users").set({ password_hash: passwordHash }).where("id", "=", reset.user_id).execute();
  await trx.updateTable("password_resets").set({ used_at: now }).where("user_id", "=", reset.user_id).execute();
  const ended = await trx.deleteFrom("sessions").where("user_id", "=", reset.user_id).returning("id").execute();
  // oidc-provider's "Session": the authorization server's sign-in cookie, which would let a
  // client be authorized without the password.
  await trx.deleteFrom("oauth_models").where("model", "=", "Session").where("account_id", "=", reset.user_id).execute();
  return { userId: reset.user_id, email: reset.email, sessionsEnded: ended.length };
}
