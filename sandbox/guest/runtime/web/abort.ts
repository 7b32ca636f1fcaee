// AbortController and AbortSignal (with the one event they need), and the errors fetch throws.
import { setTimeout } from "./timers.ts";

export class DOMException extends Error {
  // As on the web, both are optional: `new DOMException("m")` is named "Error", not "undefined".
  constructor(message = "", name = "Error") {
    super(String(message));
    this.name = String(name);
  }
}

type Listener = (event: { type: string }) => void;

export class AbortSignal {
  #aborted = false;
  #reason: unknown;
  #listeners: Listener[] = [];
  onabort: Listener | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): unknown {
    return this.#reason;
  }
  /**
   * The abort event fires at most once, so every listener is a `once` listener: stored as it
   * is (not wrapped), so that removeEventListener finds it. Adding the same one twice adds it once.
   */
  addEventListener(type: string, listener: Listener, _options?: { once?: boolean }): void {
    if (type !== "abort" || typeof listener !== "function" || this.#aborted) return;
    if (!this.#listeners.includes(listener)) this.#listeners.push(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    if (type === "abort") this.#listeners = this.#listeners.filter((l) => l !== listener);
  }
  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }
  /** Used by AbortController and by the runtime (cancellation, deadlines). */
  static _abort(signal: AbortSignal, reason: unknown): void {
    if (signal.#aborted) return;
    signal.#aborted = true;
    signal.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    const event = { type: "abort" };
    const registered = signal.#listeners;
    const run = (listener: Listener) => {
      try {
        listener(event);
      } catch {
        // A listener's error must not stop the others.
      }
    };
    if (signal.onabort) run(signal.onabort);
    for (const listener of registered) {
      // A listener removed by an earlier one does not run.
      if (signal.#listeners.includes(listener)) run(listener);
    }
    // An abort happens once: every listener is done with.
    signal.#listeners = [];
  }
  static abort(reason?: unknown): AbortSignal {
    const signal = new AbortSignal();
    AbortSignal._abort(signal, reason);
    return signal;
  }
  static timeout(ms: number): AbortSignal {
    const signal = new AbortSignal();
    setTimeout(() => AbortSignal._abort(signal, new DOMException("The operation timed out", "TimeoutError")), ms);
    return signal;
  }
  static any(signals: AbortSignal[]): AbortSignal {
    const combined = new AbortSignal();
    for (const signal of signals) {
      if (signal.aborted) {
        AbortSignal._abort(combined, signal.reason);
        break;
      }
      signal.addEventListener("abort", () => AbortSignal._abort(combined, signal.reason), { once: true });
    }
    return combined;
  }
}

export class AbortController {
  readonly signal = new AbortSignal();
  abort(reason?: unknown): void {
    AbortSignal._abort(this.signal, reason);
  }
}
