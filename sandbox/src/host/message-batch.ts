// Messages between the supervisor and a shard, coalesced per event-loop turn. Each IPC send
// costs a serialization and a write system call; under load those were ~23% of the front's
// busy time, one per call. Everything sent within one turn now leaves as one array message
// when the turn ends (setImmediate: after every I/O callback of the poll phase), in order.

export interface BatchLimits {
  /** Past this many messages queued, they leave at once. */
  maxMessages: number;
  /** Past about this many bytes queued (estimated), they leave at once. */
  maxBytes: number;
}

export const DEFAULT_BATCH: BatchLimits = { maxMessages: 256, maxBytes: 256 * 1024 };

/** What crosses the channel: one message, or several in the order they were sent. Messages are objects, never arrays. */
export type Wire<T> = T | T[];

/**
 * Queues messages and writes them as one when the event-loop turn ends, or at once past the
 * limits (so a turn that sends a lot holds neither an unbounded queue nor one huge buffer).
 * `write` may throw for a batch (a value that cannot be serialized): the messages are then
 * written one by one, and each one that fails goes to `onUndeliverable`, so that only its
 * sender hears of it.
 */
export class MessageBatcher<T extends object> {
  readonly #write: (wire: Wire<T>) => void;
  readonly #onUndeliverable: (message: T, error: unknown) => void;
  readonly #limits: BatchLimits;
  #queue: T[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(
    write: (wire: Wire<T>) => void,
    onUndeliverable: (message: T, error: unknown) => void,
    limits: BatchLimits = DEFAULT_BATCH,
  ) {
    this.#write = write;
    this.#onUndeliverable = onUndeliverable;
    this.#limits = limits;
  }

  get queued(): number {
    return this.#queue.length;
  }

  send(message: T): void {
    this.#queue.push(message);
    this.#bytes += approximateBytes(message, this.#limits.maxBytes);
    if (this.#queue.length >= this.#limits.maxMessages || this.#bytes >= this.#limits.maxBytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushAtTurnEnd);
    }
  }

  readonly #flushAtTurnEnd = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Writes what is queued now. */
  flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    this.#bytes = 0;
    try {
      this.#write(batch.length === 1 ? (batch[0] as T) : batch);
    } catch (error) {
      if (batch.length === 1) this.#onUndeliverable(batch[0] as T, error);
      else for (const message of batch) this.#writeAlone(message);
    }
  }

  #writeAlone(message: T): void {
    try {
      this.#write(message);
    } catch (error) {
      this.#onUndeliverable(message, error);
    }
  }

  /** Drops what is queued: the other side is gone. */
  clear(): void {
    this.#queue = [];
    this.#bytes = 0;
  }
}

/** Calls `each` for every message of what arrived, in the order they were sent. */
export function unbatch<T>(wire: Wire<T>, each: (message: T) => void): void {
  if (Array.isArray(wire)) for (const message of wire) each(message);
  else each(wire);
}

/**
 * Roughly the serialized size of a value: string lengths plus a few bytes per other value.
 * Stops counting once past `cap`, so a large message costs no more than a small one to weigh.
 */
export function approximateBytes(value: unknown, cap = Number.POSITIVE_INFINITY): number {
  let total = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && total < cap) {
    const next = pending.pop();
    if (typeof next === "string") total += next.length + 2;
    else if (Array.isArray(next)) {
      total += 2;
      for (const item of next) pending.push(item);
    } else if (typeof next === "object" && next !== null) {
      total += 2;
      for (const key in next) {
        total += key.length + 1;
        pending.push((next as Record<string, unknown>)[key]);
      }
    } else total += 8;
  }
  return total;
}
