import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cleanEnv, MAIN } from "./support/isola-process.ts";

// The process, not just the parser: a bad value stops `isola start` before anything
// is opened, with exit code 1 and one line on stderr that names the variable.
describe("isola start with a bad configuration value", () => {
  it.each([
    ["PORT", "abc"],
    ["HOST", "two words"],
    ["PUBLIC_URL", "example.com"],
    ["DATABASE_URL", "mysql://root:hunter2@localhost/isola"],
    ["DATABASE_URL", "::not-a-url::"],
    ["REDIS_URL", "http://localhost:6379"],
    ["ISOLA_ROLES", "runtime,gpu"],
    ["ISOLA_SECRET_KEY", "hunter2"],
    ["LOG_LEVEL", "verbose"],
  ])("%s=%s exits 1 with one line naming it", (name, value) => {
    const result = spawnSync(process.execPath, ["--no-node-snapshot", MAIN, "start"], {
      env: cleanEnv({ [name]: value, ISOLA_DATA_DIR: "/nonexistent/never-created" }),
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^isola: invalid configuration: ${name}: expected `));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).not.toContain("hunter2");
  });
});
