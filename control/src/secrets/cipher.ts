import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

// AES-256-GCM, one random 96-bit nonce per value (NIST SP 800-38D's recommended size; random
// nonces stay safe far beyond the number of secrets one key will ever encrypt). Pure functions.

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** As stored in the secrets table: base64 of ciphertext + tag, and base64 of the nonce. */
export interface Sealed {
  ciphertext: string;
  nonce: string;
}

/** Thrown when a value cannot be opened: wrong key, altered bytes, or another row's data. Says nothing of the value. */
export class SecretCipherError extends Error {
  override name = "SecretCipherError";
}

/**
 * A short, stable name for a key, stored with each value so that a node can tell "encrypted
 * with another key" from "altered". A hash over a fixed label: it identifies the key without
 * being usable as (or to find) the key.
 */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("isola secret key id v1\0").update(key).digest("hex").slice(0, 16);
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new SecretCipherError(`a secret key is ${KEY_BYTES} bytes, not ${key.length}`);
}

/** Encrypts `plaintext` (UTF-8) bound to `associatedData`: it opens only with the same associated data. */
export function seal(key: Buffer, plaintext: string, associatedData: string): Sealed {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext: body.toString("base64"), nonce: nonce.toString("base64") };
}

/** Decrypts what `seal` produced with the same key and associated data, or throws SecretCipherError. */
export function open(key: Buffer, sealed: Sealed, associatedData: string): string {
  checkKey(key);
  const nonce = Buffer.from(sealed.nonce, "base64");
  const body = Buffer.from(sealed.ciphertext, "base64");
  // GCM accepts other nonce lengths; a stored nonce that is not 12 bytes was not written by seal().
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
    throw new SecretCipherError("the stored nonce or ciphertext is malformed");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
    return plain.toString("utf8");
  } catch {
    throw new SecretCipherError("the value does not authenticate: another key, altered bytes, or another row's data");
  }
}
