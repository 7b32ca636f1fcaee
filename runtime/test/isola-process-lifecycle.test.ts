import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrations } from "@isola/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv, MAIN, spawnIsola } from "./support/isola-process.ts";

const SLOW_SERVER = fileURLToPath(new URL("./fixtures/slow-server.ts", import.meta.url));
const EMBEDDED_DB = fileURLToPath(new URL("./fixtures/embedded-db.ts", import.meta.url));

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "isola-process-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function logLines(lines: string[]): { msg: string; level: number; [key: string]: unknown }[] {
  return lines.filter(Boolean).map((line) => JSON.parse(line));
}

describe("isola start on the embedded defaults", () => {
  it("serves /healthz and /readyz, logs JSON, and stops cleanly on SIGTERM", async () => {
    const isola = await spawnIsola({ ISOLA_DATA_DIR: dataDir });
    const health = await fetch(`${isola.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });

    const ready = await fetch(`${isola.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: { database: { ok: true, kind: "pglite" }, bus: { ok: true, kind: "memory" } },
    });

    // The web role answers URLs no other role routes: its 404 page.
    const unknown = await fetch(`${isola.url}/no-such-route`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toMatch(/text\/html/);
    expect(await unknown.text()).toContain("Page not found");

    isola.child.kill("SIGTERM");
    expect(await isola.exited).toEqual({ code: 0, signal: null });
    const logs = logLines(isola.lines);
    expect(logs.find((l) => l.msg === "isola is listening")).toMatchObject({
      database: "pglite",
      bus: "memory",
      roles: ["runtime", "control", "web", "worker"],
    });
    expect(logs.map((l) => l.msg)).toContain("stopped cleanly");
  });

  it("refuses a second process on the same data directory with a clear message", async () => {
    const first = await spawnIsola({ ISOLA_DATA_DIR: dataDir });
    try {
      const second = spawnSync(process.execPath, ["--no-node-snapshot", SLOW_SERVER], {
        env: cleanEnv({ ISOLA_DATA_DIR: dataDir, PORT: "0" }),
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(second.status).toBe(1);
      const fatal = logLines(second.stdout.split("\n")).find((l) => l.level === 60);
      expect(fatal?.msg).toBe(
        `cannot start: the data directory ${dataDir} is in use by process ${first.child.pid}; stop it or set ISOLA_DATA_DIR to another directory`,
      );
    } finally {
      first.child.kill("SIGTERM");
      await first.exited;
    }
  });

  it("keeps data written by one process for the next ones", async () => {
    const write = spawnSync(process.execPath, [EMBEDDED_DB, "write", dataDir, "acme"], { encoding: "utf8" });
    expect(write.stderr).toBe("");
    expect(write.status).toBe(0);

    // A server on the same directory finds the schema already migrated, and leaves the data alone.
    const isola = await spawnIsola({ ISOLA_DATA_DIR: dataDir });
    isola.child.kill("SIGTERM");
    expect((await isola.exited).code).toBe(0);
    const migrated = logLines(isola.lines).find((l) => l.msg.startsWith("database "));
    expect(migrated).toMatchObject({ msg: "database up to date", applied: [] });

    const read = spawnSync(process.execPath, [EMBEDDED_DB, "read", dataDir], { encoding: "utf8" });
    expect(read.status).toBe(0);
    expect(JSON.parse(read.stdout)).toEqual([{ slug: "acme", name: "Org acme" }]);
  });
});

describe("isola migrate", () => {
  it("applies the migrations once, then reports the database up to date", () => {
    const run = () =>
      spawnSync(process.execPath, ["--no-node-snapshot", MAIN, "migrate"], {
        env: cleanEnv({ ISOLA_DATA_DIR: dataDir }),
        encoding: "utf8",
        timeout: 30_000,
      });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(`applied: ${Object.keys(migrations).join(", ")}\n`);
    const second = run();
    expect(second.status).toBe(0);
    expect(second.stdout).toBe("database is up to date\n");
  });
});

describe("SIGTERM with requests in flight", () => {
  it("finishes every in-flight request, refuses new connections, and exits 0", async () => {
    const isola = await spawnIsola({ ISOLA_DATA_DIR: dataDir }, SLOW_SERVER);
    const inFlight = Array.from({ length: 5 }, () => fetch(`${isola.url}/slow?ms=1500`).then((r) => r.json()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalledAt = Date.now();
    isola.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(fetch(`${isola.url}/healthz`)).rejects.toThrow();

    expect(await Promise.all(inFlight)).toEqual(Array(5).fill({ slept: 1500 }));
    expect(await isola.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
  });

  it("gives up at the grace deadline and exits 1 when a request would outlast it", async () => {
    const isola = await spawnIsola({ ISOLA_DATA_DIR: dataDir, FIXTURE_GRACE_MS: "500" }, SLOW_SERVER);
    const stuck = fetch(`${isola.url}/slow?ms=5000`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    isola.child.kill("SIGTERM");
    expect(await isola.exited).toEqual({ code: 1, signal: null });
    expect(await stuck).toBeInstanceOf(Error);
    expect(logLines(isola.lines).map((l) => l.msg)).toContain("in-flight work did not finish within 500 ms; exiting");
  });
});
