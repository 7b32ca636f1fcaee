/**
 * Which servers to stop sending to a shard after it crashed. A crash gives one strike,
 * shared among the servers that had calls in flight (the culprit is among them, and a
 * server that crashes its shard alone gets the whole strike; the supervisor records a heap
 * overrun the same way, its culprit being known). A server whose strikes in the window reach
 * the threshold is quarantined until cleared (a new version, or an operator).
 */
export interface QuarantinePolicy {
  strikes: number;
  windowMs: number;
}

export const DEFAULT_QUARANTINE: QuarantinePolicy = { strikes: 3, windowMs: 10 * 60_000 };

export interface Strike {
  at: number;
  weight: number;
}

export class Quarantine {
  readonly #policy: QuarantinePolicy;
  readonly #strikes = new Map<string, Strike[]>();
  readonly #quarantined = new Set<string>();

  constructor(policy: Partial<QuarantinePolicy> = {}) {
    this.#policy = { ...DEFAULT_QUARANTINE, ...policy };
  }

  /** Records a crash; returns the servers this crash put into quarantine. */
  recordCrash(inFlight: Iterable<string>, now: number): string[] {
    const suspects = [...new Set(inFlight)];
    const newly: string[] = [];
    for (const server of suspects) {
      const recent = (this.#strikes.get(server) ?? []).filter((s) => now - s.at < this.#policy.windowMs);
      recent.push({ at: now, weight: 1 / suspects.length });
      this.#strikes.set(server, recent);
      const total = recent.reduce((sum, s) => sum + s.weight, 0);
      // The epsilon absorbs float error (1/3 + 1/3 + 1/3).
      if (total >= this.#policy.strikes - 1e-9 && !this.#quarantined.has(server)) {
        this.#quarantined.add(server);
        newly.push(server);
      }
    }
    return newly;
  }

  isQuarantined(server: string): boolean {
    return this.#quarantined.has(server);
  }

  clear(server: string): void {
    this.#quarantined.delete(server);
    this.#strikes.delete(server);
  }

  list(): string[] {
    return [...this.#quarantined];
  }
}
