// structuredClone for the values tool code handles: plain data, Date, RegExp, Map, Set,
// ArrayBuffer and typed arrays, with cycles and shared references kept. Functions and
// symbols are refused, as on the web.
import { DOMException } from "./abort.ts";

type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

export function structuredClone<T>(value: T): T {
  const seen = new Map<unknown, unknown>();
  const remember = <V>(from: unknown, to: V): V => {
    seen.set(from, to);
    return to;
  };
  const clone = (v: unknown): unknown => {
    if (typeof v === "function" || typeof v === "symbol") {
      throw new DOMException(`${typeof v} could not be cloned`, "DataCloneError");
    }
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return seen.get(v);
    if (v instanceof Date) return remember(v, new Date(v.getTime()));
    if (v instanceof RegExp) return remember(v, new RegExp(v.source, v.flags));
    if (v instanceof ArrayBuffer) return remember(v, v.slice(0));
    if (ArrayBuffer.isView(v)) {
      // A view keeps its offset into a copy of its whole buffer, shared with the other views of it.
      if (!(v.buffer instanceof ArrayBuffer))
        throw new DOMException("shared memory could not be cloned", "DataCloneError");
      const buffer = clone(v.buffer) as ArrayBuffer;
      const length = v instanceof DataView ? v.byteLength : (v as unknown as { length: number }).length;
      return remember(v, new (v.constructor as ViewConstructor)(buffer, v.byteOffset, length));
    }
    if (v instanceof Map) {
      const out = remember(v, new Map());
      for (const [k, item] of v) out.set(clone(k), clone(item));
      return out;
    }
    if (v instanceof Set) {
      const out = remember(v, new Set());
      for (const item of v) out.add(clone(item));
      return out;
    }
    const out = remember(v, (Array.isArray(v) ? [] : {}) as Record<string, unknown>);
    for (const key of Object.keys(v)) out[key] = clone((v as Record<string, unknown>)[key]);
    return out;
  };
  return clone(value) as T;
}
