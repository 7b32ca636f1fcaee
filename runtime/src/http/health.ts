import type { DegradableStatus, DependencyCheck, ReadinessResponse } from "@isola/schema";
import type { FastifyPluginAsync } from "fastify";
import { pingDatabase } from "../stores/database.ts";
import type { Stores } from "../stores/open-stores.ts";

export interface HealthOptions {
  stores: Pick<Stores, "db" | "dbKind" | "bus">;
  /** How long a store may take to answer before it counts as unreachable. */
  checkTimeoutMs?: number;
  /** Parts that may run degraded (the runtime's limits), reported in /readyz `details`. */
  details?: ReadinessDetails;
}

/** Each part's current status, by name, read at every /readyz. */
export type ReadinessDetails = Record<string, () => DegradableStatus>;

/** Times a check; a rejection or a timeout becomes `ok: false` with the reason in words. */
export async function runCheck(kind: string, check: () => Promise<void>, timeoutMs: number): Promise<DependencyCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true, kind, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { ok: false, kind, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Ready when the stores answer; a degraded part is reported but does not make the node unready. */
export function readiness(
  database: DependencyCheck,
  bus: DependencyCheck,
  details?: Record<string, DegradableStatus>,
): ReadinessResponse {
  return {
    status: database.ok && bus.ok ? "ready" : "unavailable",
    checks: { database, bus },
    ...(details && Object.keys(details).length > 0 ? { details } : {}),
  };
}

/** GET /healthz (the process serves HTTP) and GET /readyz (and its stores answer). */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, options) => {
  const timeoutMs = options.checkTimeoutMs ?? 2000;

  app.get("/healthz", { logLevel: "warn" }, async () => ({ status: "ok" as const }));

  app.get("/readyz", { logLevel: "warn" }, async (_request, reply) => {
    const { db, dbKind, bus: theBus } = options.stores;
    const [database, bus] = await Promise.all([
      runCheck(dbKind, () => pingDatabase(db), timeoutMs),
      runCheck(theBus.kind, () => theBus.ping(), timeoutMs),
    ]);
    const details = Object.fromEntries(Object.entries(options.details ?? {}).map(([name, status]) => [name, status()]));
    const body = readiness(database, bus, details);
    return reply.code(body.status === "ready" ? 200 : 503).send(body);
  });
};
