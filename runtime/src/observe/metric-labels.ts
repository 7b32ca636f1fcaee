// Label values for the metrics: each maps an open-ended input onto a small fixed set, so that a
// client (an invented method, a status) or a message (a shard's exit reason) cannot add series.

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The HTTP method, or "other" for anything outside the usual seven. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return METHODS.has(upper) ? upper : "other";
}

/** "2xx" ... "5xx" (and "1xx"); a code outside 100-599 is "other". */
export function statusClass(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : "other";
}

export const RESTART_REASONS = ["crashed", "hung", "memory", "recycled", "stopped"] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/**
 * Why a shard ended, from the supervisor's words: its kill reasons ("no heartbeat for N ms",
 * "resident memory N MB over the ceiling", "recycled", "closing") or "exited" when it ended by
 * itself. A shard exits by itself with code 0 only when the supervisor disconnects (the node stops).
 */
export function restartReason(exit: { reason: string; code: number | null }): RestartReason {
  const { reason, code } = exit;
  if (reason.startsWith("no heartbeat")) return "hung";
  if (reason.startsWith("resident memory")) return "memory";
  if (reason === "recycled") return "recycled";
  if (reason === "closing" || (reason === "exited" && code === 0)) return "stopped";
  return "crashed";
}
