// crypto.getRandomValues and crypto.randomUUID, from the host's CSPRNG.
import { callHost } from "../bridge.ts";
import { HOST_OPS } from "../protocol.ts";
import { DOMException } from "./abort.ts";

type IntegerArray = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;
const INTEGER_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
];

function randomBytes(n: number): Uint8Array {
  const hex = callHost(HOST_OPS.random, { n });
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export const crypto = Object.freeze({
  getRandomValues<T extends IntegerArray>(array: T): T {
    // The web's errors: integer arrays only, at most 65536 bytes at a time.
    if (!INTEGER_ARRAYS.some((type) => array instanceof type)) {
      throw new DOMException("getRandomValues: the array must be an integer typed array", "TypeMismatchError");
    }
    if (array.byteLength > 65536) {
      throw new DOMException("getRandomValues: at most 65536 bytes at a time", "QuotaExceededError");
    }
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  },
  randomUUID(): string {
    const b = randomBytes(16);
    b[6] = ((b[6] as number) & 0x0f) | 0x40;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  },
});
