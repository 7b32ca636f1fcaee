import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cleanEnv } from "./support/isola-process.ts";

// scripts/bootstrap.mjs is what `npm start` and `npm test` run. It has already run once
// for this test run (npm test goes through it), so the toolchain and install are in place.
const repo = fileURLToPath(new URL("../..", import.meta.url));
const BOOTSTRAP = join(repo, "scripts", "bootstrap.mjs");

function bootstrap(node: string, args: string[]) {
  return spawnSync(node, [BOOTSTRAP, ...args], {
    cwd: repo,
    env: cleanEnv({ HOME: process.env.HOME ?? "/tmp" }),
    encoding: "utf8",
    timeout: 60_000,
  });
}

/** A Node older than 24 on this machine (CI machines ship Node 20), if there is one. */
function olderNode(): string | undefined {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout?.trim();
    if (version && Number(version.slice(1).split(".")[0]) < 24) return candidate;
  }
  return undefined;
}

describe("scripts/bootstrap.mjs", () => {
  it("runs a package script with its arguments, reusing what is installed", () => {
    const result = bootstrap(process.execPath, ["isola", "help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Usage: isola <command>");
    expect(result.stderr).not.toContain("installing");
  });

  it("passes the script's exit code through", () => {
    const result = bootstrap(process.execPath, ["isola", "no-such-command"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown command "no-such-command"');
  });

  it("forwards SIGTERM so that `npm start` drains and exits 0", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "isola-bootstrap-"));
    try {
      const child = spawn(process.execPath, [BOOTSTRAP, "isola", "start"], {
        cwd: repo,
        env: cleanEnv({ HOME: process.env.HOME ?? "/tmp", PORT: "0", ISOLA_DATA_DIR: dataDir }),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      const deadline = Date.now() + 30_000;
      while (!output.includes("isola is listening") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(output).toContain("isola is listening");
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(output).toContain("stopped cleanly");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const old = olderNode();
  if (old) {
    it(`runs TypeScript on Node 24 even when started by an older Node (${old})`, () => {
      // Node < 23 cannot run runtime/src/main.ts at all: success means the script ran on Node 24.
      const result = bootstrap(old, ["isola", "help"]);
      expect(result.stderr).not.toContain("installing");
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("Usage: isola <command>");
    });
  }
});
