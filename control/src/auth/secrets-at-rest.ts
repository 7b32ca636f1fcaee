import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Tokens Isola hands out (sessions, personal access tokens, API keys, invitations, password resets) are random,
 * shown once, and stored only as sha256 hashes. A readable prefix says what a token is, so a
 * leaked one is recognisable (and secret scanners can match it).
 */
export const TOKEN_PREFIXES = {
  pat: "isola_pat_",
  apiKey: "isola_key_",
  invitation: "isola_inv_",
  passwordReset: "isola_reset_",
  session: "",
} as const;

export function newToken(kind: keyof typeof TOKEN_PREFIXES): { token: string; hash: string; prefix: string } {
  const token = `${TOKEN_PREFIXES[kind]}${randomBytes(32).toString("base64url")}`;
  return { token, hash: hashToken(token), prefix: token.slice(0, TOKEN_PREFIXES[kind].length + 6) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

// scrypt: memory-hard, in Node's standard library. N=2^15 takes ~50-100 ms here per hash.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, options: { N: number; r: number; p: number }): Promise<Buffer> {
  const params: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, params, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** "scrypt$N$r$p$salt$hash", salt and hash in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT);
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = (stored ?? "").split("$");
  if (scheme !== "scrypt" || !salt || !hash) {
    // Spend the same time as a real check, so that timing does not reveal which accounts exist.
    await derive(password, randomBytes(16), SCRYPT);
    return false;
  }
  const expected = Buffer.from(hash, "base64");
  const actual = await derive(password, Buffer.from(salt, "base64"), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
