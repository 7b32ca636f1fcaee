import type { Bus, Database, TokenBucket } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { verifyPassword } from "../auth/secrets-at-rest.ts";

// Signing in with email and password, shared by the API (POST /auth/login) and the OAuth
// authorization server's sign-in page: the same accounts, the same limits.

/** Sign-in attempts per email (and per address) before a pause: guessing stays slow. */
export const SIGN_IN_BUCKET = { capacity: 10, refillPerSecond: 10 / 300 };

/** Attempts at something an anonymous caller may try for any email: one bucket per email and one per address. */
export interface AttemptLimit {
  /** The buckets' key prefix: `<name>:email:<email>`, `<name>:ip:<address>`. */
  name: string;
  perEmail: TokenBucket;
  perAddress: TokenBucket;
}

export const SIGN_IN_LIMIT: AttemptLimit = { name: "signin", perEmail: SIGN_IN_BUCKET, perAddress: SIGN_IN_BUCKET };

/** Takes one attempt from the email's and the address's buckets of `limit`. */
export async function takeAttempt(
  bus: Bus,
  limit: AttemptLimit,
  ip: string,
  email: string,
): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
  const buckets: [string, TokenBucket][] = [
    [`${limit.name}:email:${email.toLowerCase()}`, limit.perEmail],
    [`${limit.name}:ip:${ip}`, limit.perAddress],
  ];
  for (const [key, bucket] of buckets) {
    // If the bus is down, the operation still works: the limit is a defence, not a dependency.
    const taken = await bus.takeTokens(key, bucket).catch(() => ({ allowed: true, retryAfterMs: 0 }));
    if (!taken.allowed) return { allowed: false, retryAfterSeconds: Math.ceil(taken.retryAfterMs / 1000) };
  }
  return { allowed: true };
}

/**
 * Takes one sign-in attempt from the email's and the address's buckets. Ten in a row lock that
 * email (and that address) out; one more attempt is allowed every 30 s after that.
 */
export function takeSignInAttempt(
  bus: Bus,
  ip: string,
  email: string,
): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }> {
  return takeAttempt(bus, SIGN_IN_LIMIT, ip, email);
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
