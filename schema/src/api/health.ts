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

/** GET /readyz: 200 when every store is reachable, 503 (same shape) when one is not. */
export const readinessResponse = z.object({
  status: z.enum(["ready", "unavailable"]),
  checks: z.object({ database: dependencyCheck, bus: dependencyCheck }),
});

export type DependencyCheck = z.infer<typeof dependencyCheck>;
export type ReadinessResponse = z.infer<typeof readinessResponse>;
