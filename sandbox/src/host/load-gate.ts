// At most a few isolates of a shard load at once. A load is CPU (V8 deserializes the runtime and
// compiles the bundle) on a shard that has one or two cores, so running more at once finishes none
// sooner, while each one's new heap is resident from its start and cannot be evicted until its
// call ends: in the soak bench a stalled minute had ~250 loads in flight on one shard, which put it
// ~150 MiB past its recycle threshold, and the recycle made every server of that shard cold at once.

export class LoadGate {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError("a load gate lets at least one load through");
    this.#limit = limit;
  }

  /** Loads running now and waiting for a turn (for heartbeats and tests). */
  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `load` when fewer than the limit run, in the order they came. */
  async run<T>(load: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await load();
    } finally {
      // The slot passes straight to the next in line (the count stays), or frees.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
