import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { webPlugin } from "@isola/web";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELLO_SOURCE } from "./support/api-harness.ts";
import { cleanEnv, MAIN } from "./support/isola-process.ts";
import { createTestDatabase } from "./support/postgres.ts";

// `docker run --read-only` (and compose's read_only: true) without a tmpfs: everything but the
// data directory is read-only. Docker is not here, so bubblewrap makes the same mount table:
// the whole filesystem bound read-only, the data directory bound writable on top. Isola starts
// on PostgreSQL and Redis with every role, compiles and deploys a server, answers a tool call
// and serves a web page, and writes nothing anywhere else.

const BWRAP = ["/usr/bin/bwrap", "/bin/bwrap"].find((path) => spawnSync(path, ["--version"]).status === 0);

let dataDir: string;
let dropDatabase: (() => Promise<void>) | undefined;
let child: ChildProcess | undefined;
let exited: Promise<number | null>;

let emptyDir: string;
const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));
const ADMIN_TOKEN = `isola_pat_${"r".repeat(32)}`;

/** bwrap's arguments for a read-only root with only `writable` writable (no tmpfs anywhere). */
function readOnlyRoot(writable: string): string[] {
  return ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", writable, writable, "--die-with-parent"];
}

/**
 * The image installs production dependencies only, so the web app's build tools (a dev
 * dependency) are absent and a node serves the build the image ships, never making one. The same
 * here: an empty read-only directory over @react-router/dev.
 */
function withoutWebBuildTools(empty: string): string[] {
  const tools = realpathSync(
    dirname(createRequire(join(WEB_DIR, "package.json")).resolve("@react-router/dev/package.json")),
  );
  return ["--ro-bind", empty, tools];
}

/** The pid of the process bwrap started (same pid namespace: no --unshare-pid). */
function isolaPid(): number {
  const children = readFileSync(`/proc/${child?.pid}/task/${child?.pid}/children`, "utf8").trim().split(/\s+/);
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

describe("isola start on a read-only root filesystem (bubblewrap)", () => {
  let url: string;
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];

  beforeAll(async () => {
    if (!BWRAP)
      throw new Error(
        "bubblewrap is missing: apt-get install -y bubblewrap (npm test installs it when it can: scripts/ensure-test-tools.mjs)",
      );
    dataDir = mkdtempSync(join(tmpdir(), "isola-read-only-"));
    emptyDir = mkdtempSync(join(tmpdir(), "isola-no-build-tools-"));
    // The image ships the web build its `web` stage made; here, the checkout's, made (if it is
    // missing or stale) before the root turns read-only.
    await webPlugin({ publicUrl: "http://localhost", log: { info: () => {}, warn: () => {} } });
    const database = await createTestDatabase(process.env.DATABASE_URL ?? "");
    dropDatabase = database.drop;

    const sandbox = [...readOnlyRoot(dataDir), ...withoutWebBuildTools(emptyDir)];
    child = spawn(BWRAP, [...sandbox, process.execPath, "--no-node-snapshot", MAIN, "start"], {
      env: cleanEnv({
        PORT: "0",
        ISOLA_DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        REDIS_URL: process.env.REDIS_URL ?? "",
        ISOLA_SECRET_KEY: "cd".repeat(32),
        ISOLA_ADMIN_EMAIL: "ops@example.com",
        ISOLA_ADMIN_TOKEN: ADMIN_TOKEN,
        ISOLA_SANDBOX_SHARDS: "1",
        LOG_LEVEL: "info",
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    exited = new Promise((resolve) => child?.once("exit", (code) => resolve(code)));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening within 45 s: ${stderr}`)), 45_000);
      let partial = "";
      child?.stdout?.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString();
        const complete = text.split("\n");
        partial = complete.pop() ?? "";
        for (const line of complete.filter(Boolean)) {
          const entry = JSON.parse(line) as (typeof lines)[number] & { url?: string };
          lines.push(entry);
          if (entry.msg === "isola is listening" && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`isola exited with ${code} before listening: ${stderr}${JSON.stringify(lines)}`));
      });
    });
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    await dropDatabase?.();
    for (const dir of [dataDir, emptyDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the mount table is what the test claims: /tmp and the code refuse writes, the data dir takes them", () => {
    const probe = (path: string) =>
      spawnSync(
        BWRAP ?? "bwrap",
        [...readOnlyRoot(dataDir), process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(path)}, "x")`],
        { encoding: "utf8" },
      );
    expect(probe("/tmp/isola-read-only-probe").stderr).toContain("EROFS");
    expect(probe(join(MAIN, "..", "probe")).stderr).toContain("EROFS");
    const inDataDir = probe(join(dataDir, "probe"));
    expect(inDataDir.status).toBe(0);
    rmSync(join(dataDir, "probe"));
  });

  it("serves every role, deploys a compiled server, answers its tool, and renders a page", async () => {
    expect(lines.find((line) => line.msg === "isola is listening")).toMatchObject({
      database: "postgres",
      bus: "redis",
      mounted: expect.arrayContaining(["runtime", "control", "web", "worker"]),
    });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);

    // A deploy compiles: bundle, the native tsc type-check (temporary files) and a load in a shard.
    const api = (path: string, body: unknown) =>
      fetch(`${url}/api/v1/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await api("servers", { slug: "hello", name: "hello", authMode: "public" })).status).toBe(201);
    const version = await api("servers/hello/versions", { source: HELLO_SOURCE });
    expect(version.status).toBe(201);
    const { number } = (await version.json()) as { number: number };
    expect((await api("servers/hello/deploy", { version: number })).status).toBe(200);

    const mcp = new McpClient({ name: "read-only-test", version: "1.0.0" });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${url}/hello/mcp`)));
    try {
      expect(await mcp.callTool({ name: "hello", arguments: { name: "read-only" } })).toMatchObject({
        content: [{ type: "text", text: "Hello, read-only!" }],
      });
    } finally {
      await mcp.close();
    }

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<html/i);

    // The web role served the build it found: it never tried to make one.
    expect(lines.filter((line) => line.msg.startsWith("building the web app"))).toEqual([]);
    // Nothing failed quietly for want of a writable place, and temporary files went under the
    // data directory (its tmp/, emptied again once the compile finished).
    expect(lines.filter((line) => /EROFS|read-only file system/i.test(JSON.stringify(line)))).toEqual([]);
    expect(readdirSync(dataDir).sort()).toEqual(["tmp"]);
    expect(readdirSync(join(dataDir, "tmp"))).toEqual([]);

    // The signal goes to Isola itself (bwrap's child); bwrap exits with its code.
    process.kill(isolaPid(), "SIGTERM");
    expect(await exited).toBe(0);
    expect(lines.map((line) => line.msg)).toContain("stopped cleanly");
  });
});
