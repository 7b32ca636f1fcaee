import { createHmac, timingSafeEqual } from "node:crypto";
import type { SecretKey } from "../secrets/key.ts";

/**
 * Keys for the authorization server's own use, derived from the secrets key (HMAC-SHA256 over a
 * label): the same on every node without another setting, and unrelated to each other. Rotating
 * the secrets key changes them: open sign-in pages and the authorization server's sessions end.
 */
export function deriveKey(secretKey: SecretKey, purpose: "cookies" | "forms"): Buffer {
  return createHmac("sha256", secretKey.bytes).update(`isola oauth ${purpose} v1`).digest();
}

/** The anti-forgery token of an interaction's forms: bound to its uid, unguessable without the key. */
export function formToken(key: Buffer, uid: string): string {
  return createHmac("sha256", key).update(uid).digest("base64url");
}

export function checkFormToken(key: Buffer, uid: string, sent: unknown): boolean {
  if (typeof sent !== "string") return false;
  const expected = Buffer.from(formToken(key, uid));
  const actual = Buffer.from(sent);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
