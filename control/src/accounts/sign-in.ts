import type { Bus, Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { verifyPassword } from "../auth/secrets-at-rest.ts";

// Signing in with email and password, shared by the API (POST /auth/login) and the OAuth
// authorization server's sign-in page: the same accounts, the same limits.

/** Sign-in attempts per email (and per address) before a pause: guessing stays slow. */
export const SIGN_IN_BUCKET = { capacity: 10, refillPerSecond: 10 / 300 };

/**
 * Takes one attempt from the email's and the address's buckets. Ten in a row lock that email
 * (and that address) out; one more attempt is allowed every 30 s after that.
 */
export async function takeSignInAttempt(
  bus: Bus,
  ip: string,
  email: string,
): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
  for (const key of [`signin:email:${email.toLowerCase()}`, `signin:ip:${ip}`]) {
    // If the bus is down, sign-in still works: the limit is a defence, not a dependency.
    const taken = await bus.takeTokens(key, SIGN_IN_BUCKET).catch(() => ({ allowed: true, retryAfterMs: 0 }));
    if (!taken.allowed) return { allowed: false, retryAfterSeconds: Math.ceil(taken.retryAfterMs / 1000) };
  }
  return { allowed: true };
}

/** The account whose email and password these are, or null. */
export async function checkPassword(
  db: Kysely<Database>,
  email: string,
  password: string,
): Promise<{ id: string; email: string } | null> {
  const user = await db
    .selectFrom("users")
    .select(["id", "email", "password_hash"])
    .where(sql`lower(email)`, "=", email.toLowerCase())
    .executeTakeFirst();
  // Verifies even when there is no such user, so that timing does not tell.
  const valid = await verifyPassword(password, user?.password_hash ?? null);
  return user && valid ? { id: user.id, email: user.email } : null;
}
