// crypto.getRandomValues and crypto.randomUUID, from the host's CSPRNG.
import { callHost } from "../bridge.ts";
import { HOST_OPS } from "../protocol.ts";

type IntegerArray = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;

function randomBytes(n: number): Uint8Array {
  const hex = callHost(HOST_OPS.random, { n });
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export const crypto = Object.freeze({
  getRandomValues<T extends IntegerArray>(array: T): T {
    if (array.byteLength > 65536) throw new RangeError("getRandomValues: at most 65536 bytes at a time");
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
