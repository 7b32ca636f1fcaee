/** The limits of one server's isolate. Defaults suit a shared fleet; plans may raise them. */
export interface IsolateLimits {
  /** isolated-vm's heap limit: a guideline (2-3x is possible), so shards also watch RSS. */
  memoryMb: number;
  /** Per call, enforced from the host, including code that runs after an await. */
  cpuTimeMs: number;
  wallTimeMs: number;
  /** Loading the runtime and the bundle, and describe(). */
  loadTimeoutMs: number;
  /** JSON bytes of one result. */
  maxResultBytes: number;
  maxConcurrentCalls: number;
  /** Calls waiting for one of the concurrent slots; past this, calls are refused as busy. */
  maxQueuedCalls: number;
  maxConcurrentFetches: number;
  maxPendingTimers: number;
  maxTimerMs: number;
  maxLogLinesPerSecond: number;
  maxLogLineBytes: number;
  watchdogIntervalMs: number;
}

export const DEFAULT_LIMITS: IsolateLimits = {
  memoryMb: 64,
  cpuTimeMs: 2000,
  wallTimeMs: 30_000,
  loadTimeoutMs: 2000,
  maxResultBytes: 1024 * 1024,
  maxConcurrentCalls: 32,
  maxQueuedCalls: 1000,
  maxConcurrentFetches: 8,
  maxPendingTimers: 100,
  maxTimerMs: 30_000,
  maxLogLinesPerSecond: 200,
  maxLogLineBytes: 8192,
  watchdogIntervalMs: 20,
};

export function mergeLimits(limits: Partial<IsolateLimits>): IsolateLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
