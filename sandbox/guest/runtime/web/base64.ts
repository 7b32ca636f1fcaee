// atob / btoa, and base64 for byte arrays (how bodies cross the host bridge).
import { DOMException } from "./abort.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const LOOKUP = new Map([...ALPHABET].map((c, i) => [c, i]));

const CODES = [...ALPHABET].map((c) => c.charCodeAt(0));
const PAD = 61; // "="

/**
 * In slices of character codes joined once: appending one character at a time builds a
 * rope of millions of nodes, which for a body of a few MB exceeds the isolate's memory.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const slices: string[] = [];
  const codes: number[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    codes.push(
      CODES[a >> 2] as number,
      CODES[((a & 3) << 4) | ((b ?? 0) >> 4)] as number,
      b === undefined ? PAD : (CODES[((b & 15) << 2) | ((c ?? 0) >> 6)] as number),
      c === undefined ? PAD : (CODES[c & 63] as number),
    );
    if (codes.length >= 8192) slices.push(String.fromCharCode(...codes.splice(0)));
  }
  slices.push(String.fromCharCode(...codes));
  return slices.join("");
}

export function base64ToBytes(text: string): Uint8Array {
  const clean = String(text).replace(/[\t\n\f\r ]/g, "");
  const body = clean.length % 4 === 0 ? clean.replace(/={1,2}$/, "") : clean;
  if (body.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(body)) {
    throw new DOMException("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
  }
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const char of body) {
    value = (value << 6) | (LOOKUP.get(char) as number);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 255;
    }
  }
  return out;
}

export function btoa(data: string): string {
  const text = String(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) {
      throw new DOMException("The string contains characters outside of the Latin1 range.", "InvalidCharacterError");
    }
    bytes[i] = code;
  }
  return bytesToBase64(bytes);
}

export function atob(data: string): string {
  const bytes = base64ToBytes(data);
  // In slices: spreading a large array into one call overflows the stack (past ~1 MB).
  const slices: string[] = [];
  for (let i = 0; i < bytes.length; i += 8192) slices.push(String.fromCharCode(...bytes.subarray(i, i + 8192)));
  return slices.join("");
}
