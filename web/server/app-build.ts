import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The web app's build (web/build), made when a node with the web role starts and finds it
 * missing or older than the sources: `npm start`, `npm test` and a single test file all get a
 * current build without a step to remember. An install without the build tools (the Docker
 * image, built with `pnpm web:build`) serves the build it has.
 */

export const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));
export const BUILD_DIR = join(WEB_DIR, "build");
export const SERVER_ENTRY = join(BUILD_DIR, "server", "index.js");
export const CLIENT_DIR = join(BUILD_DIR, "client");

/** Everything the build reads from this package. */
const INPUTS = ["app", "server/entry.ts", "react-router.config.ts", "vite.config.ts", "package.json"];

/** A lock without its owner's pid for this long was left by a process that died taking it. */
const LOCK_STALE_MS = 30_000;

async function newestInput(path: string): Promise<{ path: string; mtimeMs: number }> {
  const info = await stat(path);
  if (!info.isDirectory()) return { path, mtimeMs: info.mtimeMs };
  let newest = { path, mtimeMs: 0 };
  for (const entry of await readdir(path)) {
    const candidate = await newestInput(join(path, entry));
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** Why the build must be made again ("missing", or the newest source), or null when it is current. */
export async function staleness(): Promise<string | null> {
  const built = await stat(SERVER_ENTRY).catch(() => null);
  if (!built) return "web/build is missing";
  for (const input of INPUTS) {
    const newest = await newestInput(join(WEB_DIR, input));
    if (newest.mtimeMs > built.mtimeMs) return `${newest.path.slice(WEB_DIR.length)} changed since the last build`;
  }
  return null;
}

/** The react-router CLI, when the build tools are installed. */
function reactRouterCli(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@react-router/dev/package.json")), "bin.cjs");
  } catch {
    return undefined;
  }
}

function run(cli: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // NODE_ENV=production: a test runner's NODE_ENV=test must not give a development React build.
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: WEB_DIR,
      env: { ...process.env, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`react-router ${args[0]} failed:\n${Buffer.concat(output).toString().slice(-4000)}`)),
    );
  });
}

/** Whether the process that took a lock is gone (killed mid-build): its lock may be taken over. */
async function abandoned(lock: string): Promise<boolean> {
  const pid = Number(await readFile(join(lock, "pid"), "utf8").catch(() => ""));
  if (!pid) {
    // Just made, pid not written yet; or written by nobody for long.
    const made = await stat(lock).catch(() => null);
    return made !== null && Date.now() - made.mtimeMs > LOCK_STALE_MS;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "ESRCH";
  }
}

/** One build at a time on this machine (test files start in parallel); the others wait for it. */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `isola-web-build-${createHash("sha256").update(WEB_DIR).digest("hex").slice(0, 12)}`);
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
      if (await abandoned(lock)) await rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export interface BuildLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Makes web/build current (see above); throws when there is none and none can be made. */
export async function ensureBuilt(log: BuildLog): Promise<void> {
  const reason = await staleness();
  if (!reason) return;
  const cli = reactRouterCli();
  if (!cli) {
    if (!(await stat(SERVER_ENTRY).catch(() => null))) {
      throw new Error("the web app is not built (web/build) and its build tools are not installed: run pnpm web:build");
    }
    log.warn(`serving the web app's existing build (${reason}; the build tools are not installed)`);
    return;
  }
  await withLock(async () => {
    // Another process may have built it while this one waited.
    const still = await staleness();
    if (!still) return;
    log.info(`building the web app: ${still}`);
    const started = performance.now();
    // The route types are for tsc -b; made here too so that they follow the routes.
    await run(cli, ["typegen"]);
    await run(cli, ["build"]);
    log.info(`built the web app in ${Math.round(performance.now() - started)} ms`);
  });
}
