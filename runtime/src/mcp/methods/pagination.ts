import { JSONRPC_ERRORS, JsonRpcError } from "../protocol/jsonrpc.ts";

export const PAGE_SIZE = 100;

/**
 * One page of a manifest list. The cursor is opaque (base64url of an offset and the version it
 * belongs to), so a cursor from before a deploy starts the new version's list from the top.
 */
export function pageOf<T>(items: readonly T[], cursor: unknown, versionId: string): { page: T[]; nextCursor?: string } {
  let offset = 0;
  if (cursor !== undefined) {
    try {
      const decoded = JSON.parse(Buffer.from(String(cursor), "base64url").toString()) as { o?: unknown; v?: unknown };
      if (typeof decoded.o !== "number" || !Number.isInteger(decoded.o) || decoded.o < 0) throw new Error("bad offset");
      offset = decoded.v === versionId ? decoded.o : 0;
    } catch {
      throw new JsonRpcError(JSONRPC_ERRORS.invalidParams, "invalid cursor");
    }
  }
  const page = items.slice(offset, offset + PAGE_SIZE);
  const next = offset + PAGE_SIZE;
  return next < items.length
    ? { page, nextCursor: Buffer.from(JSON.stringify({ o: next, v: versionId })).toString("base64url") }
    : { page };
}
