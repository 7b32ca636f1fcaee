// setTimeout / clearTimeout through the host's event loop. The host caps the delay and
// the number of pending timers per isolate; a callback runs under the isolate's limits.
import { callHost } from "../bridge.ts";
import { HOST_OPS } from "../protocol.ts";

const callbacks = new Map<number, () => void>();
let nextTimer = 1;

export function setTimeout(callback: () => void, ms = 0): number {
  if (typeof callback !== "function") throw new TypeError("setTimeout needs a function");
  const id = nextTimer++;
  const refused = callHost(HOST_OPS.setTimer, { id, ms: Math.max(0, Number(ms) || 0) });
  if (refused) throw new RangeError(refused);
  callbacks.set(id, callback);
  return id;
}

export function clearTimeout(id: number | undefined): void {
  if (id === undefined || !callbacks.delete(id)) return;
  callHost(HOST_OPS.clearTimer, { id });
}

/** Called by the host when a timer is due. */
export function fireTimer(id: number): void {
  const callback = callbacks.get(id);
  callbacks.delete(id);
  callback?.();
}

/**
 * Called when no call runs any more: the host drops its pending timers then ("no background
 * work"), so their callbacks would never run; without this they would pile up for the
 * isolate's lifetime (every AbortSignal.timeout that did not expire leaves one).
 */
export function dropTimers(): void {
  callbacks.clear();
}
