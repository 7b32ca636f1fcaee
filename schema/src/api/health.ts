import { z } from "zod";

/** GET /healthz: the process is alive and serving HTTP. */
export const livenessResponse = z.object({ status: z.literal("ok") });

export const dependencyCheck = z.object({
  ok: z.boolean(),
  /** Which implementation is in use: pglite or postgres; memory or redis. */
  kind: z.string(),
  latencyMs: z.number().optional(),
  /** Why the check failed, in words. Never contains credentials. */
  error: z.string().optional(),
});

/**
 * A part of the process that keeps working in a reduced mode instead of failing: the runtime's
 * limits, kept per node while Redis is unreachable. Being degraded does not make /readyz 503.
 */
export const degradableStatus = z.object({
  degraded: z.boolean(),
  /** What it does now, e.g. `shared` (through the Bus) or `local` (this process only). */
  mode: z.string(),
  /** When it became degraded. */
  since: z.iso.datetime().optional(),
  /** Why, in words. Never contains credentials. */
  reason: z.string().optional(),
});

/** GET /readyz: 200 when every store is reachable, 503 (same shape) when one is not. */
export const readinessResponse = z.object({
  status: z.enum(["ready", "unavailable"]),
  checks: z.object({ database: dependencyCheck, bus: dependencyCheck }),
  /** The parts that may run degraded, by name (`limits` on nodes that serve MCP endpoints). */
  details: z.record(z.string(), degradableStatus).optional(),
});

export type DependencyCheck = z.infer<typeof dependencyCheck>;
export type ReadinessResponse = z.infer<typeof readinessResponse>;
export type DegradableStatus = z.infer<typeof degradableStatus>;
