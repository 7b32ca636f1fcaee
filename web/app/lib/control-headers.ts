// The request headers control's API reads for safe writes (docs/API.md: ETags, Idempotency-Key).

/** An update made against the revision the page showed: someone else's change since is a 412, not overwritten. */
export const ifMatch = (revision: number | string) => ({ "if-match": `"r${revision}"` });

/** A create sent at most once per form shown: a double submit replays instead of making two. */
export const idempotencyKey = (key: string): Record<string, string> => (key ? { "idempotency-key": key } : {});
