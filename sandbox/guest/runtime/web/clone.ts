// structuredClone for the values tool code handles: plain data, Date, RegExp, Map, Set,
// ArrayBuffer and typed arrays, with cycles. Functions and symbols are refused, as on the web.
import { DOMException } from "./abort.ts";

export function structuredClone<T>(value: T): T {
  const seen = new Map<unknown, unknown>();
  const clone = (v: unknown): unknown => {
    if (typeof v === "function" || typeof v === "symbol") {
      throw new DOMException(`${typeof v} could not be cloned`, "DataCloneError");
    }
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return seen.get(v);
    if (v instanceof Date) return new Date(v.getTime());
    if (v instanceof RegExp) return new RegExp(v.source, v.flags);
    if (v instanceof ArrayBuffer) return v.slice(0);
    if (ArrayBuffer.isView(v)) {
      const Ctor = v.constructor as new (buffer: ArrayBuffer) => ArrayBufferView;
      return new Ctor(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer);
    }
    if (v instanceof Map) {
      const out = new Map();
      seen.set(v, out);
      for (const [k, item] of v) out.set(clone(k), clone(item));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set();
      seen.set(v, out);
      for (const item of v) out.add(clone(item));
      return out;
    }
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    seen.set(v, out);
    for (const key of Object.keys(v))
      (out as Record<string, unknown>)[key] = clone((v as Record<string, unknown>)[key]);
    return out;
  };
  return clone(value) as T;
}
