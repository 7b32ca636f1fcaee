import { createHash, generateKeyPairSync, type JsonWebKey } from "node:crypto";
import type { Database } from "@isola/schema";
import { type Kysely, sql, type Transaction } from "kysely";
import { open, seal } from "../secrets/cipher.ts";
import type { SecretKey } from "../secrets/key.ts";
import { RETIRED_KEY_SECONDS } from "./lifetimes.ts";

/**
 * The authorization server's signing keys: ES256 (P-256), generated here, the private half
 * stored encrypted with the secrets key. A key is published from its creation; it signs from
 * `signs_from` on (the newest such key signs); a rotation gives the keys it replaces an
 * `expires_at` after which every token they signed has expired, and they are no longer published.
 */

export const SIGNING_ALG = "ES256";

/** A private EC JWK as oidc-provider takes it. */
export interface SigningJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  d: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: "sig";
}

/** The keys in force at one moment: the one that signs (first) and every one published. */
export interface KeySet {
  signing: SigningJwk;
  /** Signing key first: the library signs with the first key that fits. */
  keys: SigningJwk[];
  /** When the set changes next on its own (a pending key starts signing, or a retired one expires). */
  nextChangeAt: Date | null;
  /** Names the set: equal fingerprints, equal sets. */
  fingerprint: string;
}

interface KeyTimes {
  kid: string;
  signsFrom: Date;
  expiresAt: Date | null;
}

/**
 * Which keys are in force at `now`: published ones are those not yet expired; the signing one is
 * the newest whose `signsFrom` has come (ties broken by kid, so every node picks the same).
 * Pure; null when no key can sign.
 */
export function keysInForce<T extends KeyTimes>(
  rows: T[],
  now: Date,
): { signing: T; published: T[]; nextChangeAt: Date | null } | null {
  const published = rows.filter((row) => !row.expiresAt || row.expiresAt > now);
  const signing = published
    .filter((row) => row.signsFrom <= now)
    .sort((a, b) => b.signsFrom.getTime() - a.signsFrom.getTime() || (a.kid < b.kid ? -1 : 1))[0];
  if (!signing) return null;
  const future = published.flatMap((row) => [
    ...(row.signsFrom > now ? [row.signsFrom.getTime()] : []),
    ...(row.expiresAt ? [row.expiresAt.getTime()] : []),
  ]);
  return {
    signing,
    published: [signing, ...published.filter((row) => row !== signing)],
    nextChangeAt: future.length > 0 ? new Date(Math.min(...future)) : null,
  };
}

/** RFC 7638 thumbprint of a P-256 public key: a kid that names the key itself. */
function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash("sha256").update(canonical).digest("base64url");
}

/** A new P-256 key pair as a private JWK, its kid the public key's thumbprint. */
export function generateSigningJwk(): SigningJwk {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" }) as JsonWebKey & { x: string; y: string; d: string };
  const base = { kty: "EC" as const, crv: "P-256" as const, x: jwk.x, y: jwk.y };
  return { ...base, d: jwk.d, kid: thumbprint(base), alg: SIGNING_ALG, use: "sig" };
}

const associatedData = (kid: string) => `isola oauth signing key ${kid}`;

/** The private JWK sealed with the secrets key (bound to its kid: a row's ciphertext opens only as that key). */
export function sealSigningJwk(secretKey: SecretKey, jwk: SigningJwk) {
  return { ...seal(secretKey.bytes, JSON.stringify(jwk), associatedData(jwk.kid)), key_id: secretKey.id };
}

export function openSigningJwk(
  secretKey: SecretKey,
  row: { kid: string; ciphertext: string; nonce: string; key_id: string },
): SigningJwk {
  if (row.key_id !== secretKey.id) {
    throw new Error(
      `OAuth signing key ${row.kid} is encrypted with secret key ${row.key_id}, not with the configured ${secretKey.id}`,
    );
  }
  return JSON.parse(open(secretKey.bytes, row, associatedData(row.kid))) as SigningJwk;
}

const publicJwk = ({ d: _d, ...rest }: SigningJwk) => rest;

/** Nodes serialise key changes on this lock, so that two first boots do not make two keys. */
async function lockKeys(trx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('isola.oauth.signing-keys'))`.execute(trx);
}

async function insertKey(trx: Transaction<Database>, secretKey: SecretKey, signsFrom: Date): Promise<SigningJwk> {
  const jwk = generateSigningJwk();
  await trx
    .insertInto("oauth_signing_keys")
    .values({
      kid: jwk.kid,
      alg: jwk.alg,
      public_jwk: JSON.stringify(publicJwk(jwk)),
      ...sealSigningJwk(secretKey, jwk),
      signs_from: signsFrom,
    })
    .execute();
  return jwk;
}

const keyTimes = (row: { kid: string; signs_from: Date; expires_at: Date | null }) => ({
  kid: row.kid,
  signsFrom: row.signs_from,
  expiresAt: row.expires_at,
});

/** Makes the first signing key when no key can sign now (first boot); returns whether it made one. */
export async function ensureSigningKey(db: Kysely<Database>, secretKey: SecretKey, now = new Date()): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockKeys(trx);
    const rows = await trx.selectFrom("oauth_signing_keys").select(["kid", "signs_from", "expires_at"]).execute();
    if (keysInForce(rows.map(keyTimes), now)) return false;
    await insertKey(trx, secretKey, now);
    return true;
  });
}

/** The keys in force now, decrypted; throws when there is none (ensureSigningKey first). */
export async function loadKeySet(db: Kysely<Database>, secretKey: SecretKey, now = new Date()): Promise<KeySet> {
  const rows = await db
    .selectFrom("oauth_signing_keys")
    .select(["kid", "ciphertext", "nonce", "key_id", "signs_from", "expires_at"])
    .execute();
  const inForce = keysInForce(
    rows.map((row) => ({ ...keyTimes(row), row })),
    now,
  );
  if (!inForce) throw new Error("there is no OAuth signing key in force: run the control role once to make one");
  const keys = inForce.published.map(({ row }) => openSigningJwk(secretKey, row));
  return {
    signing: keys[0] as SigningJwk,
    keys,
    nextChangeAt: inForce.nextChangeAt,
    fingerprint: keys.map((key) => key.kid).join(" "),
  };
}

export interface Rotation {
  kid: string;
  signsFrom: Date;
  /** The keys it replaces, and when they stop being published. */
  retired: { kid: string; expiresAt: Date }[];
}

/**
 * Adds a new signing key, published at once and signing from `now + leadSeconds`; the keys it
 * replaces keep being published until every token they may still sign has expired.
 */
export async function rotateSigningKey(
  db: Kysely<Database>,
  secretKey: SecretKey,
  options: { leadSeconds: number; now?: Date },
): Promise<Rotation> {
  const now = options.now ?? new Date();
  const signsFrom = new Date(now.getTime() + options.leadSeconds * 1000);
  const expiresAt = new Date(signsFrom.getTime() + RETIRED_KEY_SECONDS * 1000);
  return db.transaction().execute(async (trx) => {
    await lockKeys(trx);
    const replaced = await trx
      .updateTable("oauth_signing_keys")
      .set({ expires_at: expiresAt })
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", expiresAt)]))
      .returning("kid")
      .execute();
    const jwk = await insertKey(trx, secretKey, signsFrom);
    return { kid: jwk.kid, signsFrom, retired: replaced.map((row) => ({ kid: row.kid, expiresAt })) };
  });
}

/** Re-encrypts every signing key with a new secret key (inside the secret-key rotation's transaction). */
export async function resealSigningKeys(
  trx: Transaction<Database>,
  oldKey: SecretKey,
  newKey: SecretKey,
): Promise<number> {
  const rows = await trx
    .selectFrom("oauth_signing_keys")
    .select(["kid", "ciphertext", "nonce", "key_id"])
    .orderBy("kid")
    .forUpdate()
    .execute();
  let count = 0;
  for (const row of rows) {
    if (row.key_id === newKey.id) continue;
    const jwk = openSigningJwk(oldKey, row);
    await trx.updateTable("oauth_signing_keys").set(sealSigningJwk(newKey, jwk)).where("kid", "=", row.kid).execute();
    count += 1;
  }
  return count;
}

/** Deletes keys that expired more than a day ago (nothing can verify against them any more). */
export async function sweepExpiredKeys(db: Kysely<Database>, now = new Date()): Promise<void> {
  await db
    .deleteFrom("oauth_signing_keys")
    .where("expires_at", "<", new Date(now.getTime() - 86_400_000))
    .execute();
}
