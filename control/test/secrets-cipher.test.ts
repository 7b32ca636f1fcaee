import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyId, NONCE_BYTES, open, type Sealed, SecretCipherError, seal, TAG_BYTES } from "../src/secrets/cipher.ts";
import { secretKeyOf } from "../src/secrets/key.ts";
import { openSecret, sealSecret } from "../src/secrets/vault.ts";

const key = randomBytes(32);
const AAD = "server-a";

/** Flips one bit of the decoded field at `index` (negative: from the end). */
function flip(value: string, index: number): string {
  const bytes = Buffer.from(value, "base64");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString("base64");
}

describe("the secrets cipher (AES-256-GCM)", () => {
  it.each([
    ["an empty value", ""],
    ["ASCII", "sk-live-0123456789"],
    ["unicode", "ключ 🔑 秘密 \u0000 tab\tnewline\n"],
    ["64 KiB", "x".repeat(65_536)],
    ["a PEM-like block", `-----BEGIN KEY-----\n${randomBytes(600).toString("base64")}\n-----END KEY-----`],
  ])("round-trips %s", (_case, value) => {
    const sealed = seal(key, value, AAD);
    expect(open(key, sealed, AAD)).toBe(value);
    expect(Buffer.from(sealed.nonce, "base64")).toHaveLength(NONCE_BYTES);
    expect(Buffer.from(sealed.ciphertext, "base64")).toHaveLength(Buffer.byteLength(value) + TAG_BYTES);
  });

  it("uses a fresh nonce for every value, so equal values do not look equal", () => {
    const first = seal(key, "same", AAD);
    const second = seal(key, "same", AAD);
    expect(first.nonce).not.toBe(second.nonce);
    expect(first.ciphertext).not.toBe(second.ciphertext);
  });

  const good = seal(key, "sk-live-tamper-me", AAD);
  it.each<[string, Sealed, Buffer, string]>([
    ["a changed ciphertext byte", { ...good, ciphertext: flip(good.ciphertext, 0) }, key, AAD],
    ["a changed tag byte", { ...good, ciphertext: flip(good.ciphertext, -1) }, key, AAD],
    ["a changed nonce byte", { ...good, nonce: flip(good.nonce, 0) }, key, AAD],
    ["a short nonce", { ...good, nonce: Buffer.alloc(11).toString("base64") }, key, AAD],
    ["a ciphertext shorter than a tag", { ...good, ciphertext: Buffer.alloc(15).toString("base64") }, key, AAD],
    [
      "a truncated ciphertext",
      { ...good, ciphertext: Buffer.from(good.ciphertext, "base64").subarray(1).toString("base64") },
      key,
      AAD,
    ],
    ["other associated data (another server)", good, key, "server-b"],
    ["the wrong key", good, randomBytes(32), AAD],
  ])("refuses %s, without quoting the value", (_case, sealed, withKey, aad) => {
    let thrown: unknown;
    try {
      open(withKey, sealed, aad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SecretCipherError);
    expect(String((thrown as Error).message)).not.toContain("sk-live");
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => seal(randomBytes(16), "v", AAD)).toThrow(/32 bytes/);
  });

  it("names a key by a short fingerprint that is stable, distinct per key, and not the key", () => {
    const id = keyId(key);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(Buffer.from(key))).toBe(id);
    expect(keyId(randomBytes(32))).not.toBe(id);
    expect(key.toString("hex")).not.toContain(id);
  });
});

describe("stored secret rows", () => {
  const current = secretKeyOf(randomBytes(32));
  const serverA = "0b6c3c0e-2d0f-4c55-9a39-3f6a1e0d7a01";
  const serverB = "4f1d2a7c-8e3b-4b8a-9c6d-1e2f3a4b5c6d";
  const row = { server_id: serverA, name: "API_KEY", ...sealSecret(current, serverA, "API_KEY", "sk-live-row") };

  it("open with the key and the row they were sealed for", () => {
    expect(row.key_id).toBe(current.id);
    expect(openSecret(current, row)).toBe("sk-live-row");
  });

  it.each([
    ["copied to another server's row", { ...row, server_id: serverB }, /API_KEY of server 4f1d2a7c/],
    ["moved to another name of the same server", { ...row, name: "OTHER_KEY" }, /OTHER_KEY/],
  ])("do not open when %s", (_case, moved, message) => {
    expect(() => openSecret(current, moved)).toThrow(message);
    expect(() => openSecret(current, moved)).not.toThrow(/sk-live/);
  });

  it("written with another key fail with an error naming both key ids, not with garbage", () => {
    const other = secretKeyOf(randomBytes(32));
    expect(() => openSecret(other, row)).toThrow(
      new RegExp(`encrypted with key ${current.id}, but this node's key is ${other.id}`),
    );
  });
});
