// AbortController and AbortSignal (with the one event they need), and the errors fetch throws.
import { setTimeout } from "./timers.ts";

export class DOMException extends Error {
  constructor(message: string, name: string) {
    super(message);
    this.name = name;
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
  addEventListener(type: string, listener: Listener, options?: { once?: boolean }): void {
    if (type !== "abort" || typeof listener !== "function") return;
    const wrapped: Listener = options?.once
      ? (event) => {
          this.removeEventListener("abort", wrapped);
          listener(event);
        }
      : listener;
    this.#listeners.push(wrapped);
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
    for (const listener of [...(signal.onabort ? [signal.onabort] : []), ...signal.#listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's error must not stop the others.
      }
    }
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
