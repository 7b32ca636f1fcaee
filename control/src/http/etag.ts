import { problem } from "./problems.ts";

/** Strong ETag of a row's revision. */
export const etagOf = (revision: number) => `"r${revision}"`;

/** The revision an If-Match names; 412 when it is not an ETag this API gave out. */
function parseIfMatch(header: string): number {
  // Revisions are integer columns: a longer number was never given out (and would not fit the query).
  const match = /^(?:W\/)?"r(\d{1,10})"$/.exec(header.trim());
  const revision = Number(match?.[1]);
  if (!match || revision > 2_147_483_647)
    throw problem("precondition-failed", "If-Match does not hold an ETag this API gave out");
  return revision;
}

/**
 * The revision an update may apply to, from If-Match. Updates require it (428 without), so
 * two people editing the same thing cannot silently overwrite each other (412 on mismatch).
 */
export function revisionFromIfMatch(header: string | undefined): number {
  if (header === undefined) throw problem("precondition-required", "send If-Match with the ETag from your last read");
  return parseIfMatch(header);
}

/** For writes where If-Match is optional (a write-only value set blindly): undefined without one. */
export function revisionFromOptionalIfMatch(header: string | undefined): number | undefined {
  return header === undefined ? undefined : parseIfMatch(header);
}

/** The 412 of an update whose If-Match names a revision the row has moved past. */
export const changedSince = (what: string, revision: number) =>
  problem("precondition-failed", `${what} changed since revision ${revision}; read it again`);
