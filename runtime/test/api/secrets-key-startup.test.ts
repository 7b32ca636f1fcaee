import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv, MAIN, spawnIsola } from "../support/isola-process.ts";
import { createTestDatabase } from "../support/postgres.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "isola-key-start-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

type LogLine = { level: number; msg: string };
const parse = (lines: string[]): LogLine[] => lines.filter(Boolean).map((line) => JSON.parse(line));

/** Runs `isola start` expecting it to fail; returns its log lines. */
function failedStart(env: Record<string, string>) {
  const run = spawnSync(process.execPath, ["--no-node-snapshot", MAIN, "start"], {
    env: cleanEnv({ PORT: "0", ISOLA_SANDBOX_SHARDS: "1", ...env }),
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: run.status, logs: parse(run.stdout.split("\n")), stderr: run.stderr };
}

describe("the secret key at startup", () => {
  it("is generated once for the embedded default (0600, 32 bytes), with a warning; a later boot reuses it", async () => {
    const first = await spawnIsola({ ISOLA_DATA_DIR: dataDir, ISOLA_SANDBOX_SHARDS: "1" });
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
    const path = join(dataDir, "secret.key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = readFileSync(path);
    expect(key).toHaveLength(32);
    const warning = parse(first.lines).find((line) => line.msg.includes("generated key"));
    expect(warning).toMatchObject({ level: 40 });
    expect(warning?.msg).toContain("ISOLA_SECRET_KEY");
    expect(JSON.stringify(first.lines)).not.toContain(key.toString("base64"));

    const second = await spawnIsola({ ISOLA_DATA_DIR: dataDir, ISOLA_SANDBOX_SHARDS: "1" });
    second.child.kill("SIGTERM");
    await second.exited;
    expect(readFileSync(path)).toEqual(key);
  });

  it("refuses to start, in one fatal line, with a key file others can read", async () => {
    const path = join(dataDir, "secret.key");
    writeFileSync(path, randomBytes(32));
    chmodSync(path, 0o644);
    const run = failedStart({ ISOLA_DATA_DIR: dataDir });
    expect(run.status).toBe(1);
    expect(run.logs.filter((line) => line.level >= 50)).toEqual([
      expect.objectContaining({
        level: 60,
        msg: `cannot start: the secret key ${path} is readable by group or others (mode 0644); run: chmod 600 ${path}`,
      }),
    ]);
  });

  it.runIf(process.env.DATABASE_URL)(
    "refuses to start a fleet node (DATABASE_URL set) without ISOLA_SECRET_KEY, in one fatal line",
    async () => {
      const database = await createTestDatabase(process.env.DATABASE_URL as string);
      try {
        const run = failedStart({ ISOLA_DATA_DIR: dataDir, DATABASE_URL: database.url });
        expect(run.status).toBe(1);
        expect(run.logs.filter((line) => line.level >= 50)).toEqual([
          expect.objectContaining({
            level: 60,
            msg: expect.stringMatching(/^cannot start: set ISOLA_SECRET_KEY: every node must use the same key/),
          }),
        ]);
      } finally {
        await database.drop();
      }
    },
  );
});
