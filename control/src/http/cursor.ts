import { problem } from "./problems.ts";

/** Opaque page cursors: base64url of the last item's sort key. Pure. */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/**
 * The key inside a cursor, or 400. `isValid` checks what the query will do with it (a date, an
 * integer in the column's range): a forged cursor must be a client error, not a failed query.
 */
export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string | undefined,
  shape: { [P in keyof K]: "string" | "number" },
  isValid: (key: K) => boolean = () => true,
): K | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString()) as Record<string, unknown>;
    const valid = Object.entries(shape).every(([field, type]) => typeof key[field] === type);
    if (valid && isValid(key as K)) return key as K;
  } catch {
    // fall through
  }
  throw problem("invalid-request", "the cursor is not one this list gave out");
}

/** Takes one more than the page size to know whether there is a next page. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => Record<string, string | number>) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
