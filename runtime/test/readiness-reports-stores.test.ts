import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { healthRoutes } from "../src/http/health.ts";
import { MemoryBus } from "../src/stores/memory-bus.ts";
import { databaseBackends } from "./support/backends.ts";

describe.each(databaseBackends())("/readyz with $name", (backend) => {
  it("answers 200 while the database answers, and 503 naming it once it does not", async () => {
    const database = await backend.open();
    const bus = new MemoryBus();
    const app = Fastify();
    await app.register(healthRoutes, { stores: { db: database.db, dbKind: database.kind, bus }, checkTimeoutMs: 1000 });
    try {
      const ready = await app.inject("/readyz");
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: "ready", checks: { database: { ok: true, kind: backend.name } } });

      await database.close();
      const down = await app.inject("/readyz");
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({
        status: "unavailable",
        checks: { database: { ok: false, kind: backend.name, error: expect.any(String) }, bus: { ok: true } },
      });
      // Liveness is about the process, not its stores.
      expect((await app.inject("/healthz")).statusCode).toBe(200);
    } finally {
      await app.close();
      await bus.close();
    }
  });
});
