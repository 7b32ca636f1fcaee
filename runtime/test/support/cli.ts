import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanEnv, type IsolaProcess, spawnIsola } from "./isola-process.ts";

/** The repository's root: `isola` commands run from here, as `pnpm isola ...` does. */
export const REPO = fileURLToPath(new URL("../../..", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The whole environment besides PATH: no server configuration unless a test adds it. */
  env?: Record<string, string>;
  /** Written to stdin, which then closes (stdin is always a pipe: never a terminal). */
  input?: string;
  cwd?: string;
}

/** Runs `node --no-node-snapshot runtime/src/main.ts ...args` to its exit. */
export function isola(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ["--no-node-snapshot", "runtime/src/main.ts", ...args], {
    cwd: options.cwd ?? REPO,
    env: cleanEnv(options.env ?? {}),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(options.input ?? "");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`isola ${args.join(" ")} did not exit within 60 s: ${stdout}${stderr}`));
    }, 60_000);
    // "close", not "exit": the process may exit before its output has been read from the pipes.
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A port nobody listens on right now, so that PUBLIC_URL can name it before the process starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface Instance {
  process: IsolaProcess;
  /** The instance's URL, which is also its PUBLIC_URL. */
  url: string;
  /** The bootstrapped owner's personal access token. */
  token: string;
  /** A temporary XDG_CONFIG_HOME for credentials. */
  configHome: string;
  /** What a CI job would set to use this instance: ISOLA_URL, ISOLA_TOKEN, XDG_CONFIG_HOME. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A real `isola start` on a fresh data directory, with a bootstrapped owner and token. */
export async function startInstance(): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), "isola-cli-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const token = `isola_pat_${randomBytes(24).toString("base64url")}`;
  const server = await spawnIsola({
    ISOLA_DATA_DIR: join(dir, "data"),
    PORT: String(port),
    PUBLIC_URL: url,
    ISOLA_ADMIN_EMAIL: "owner@example.com",
    ISOLA_ADMIN_TOKEN: token,
    ISOLA_SANDBOX_SHARDS: "1",
  });
  const configHome = join(dir, "config");
  return {
    process: server,
    url,
    token,
    configHome,
    env: { ISOLA_URL: url, ISOLA_TOKEN: token, XDG_CONFIG_HOME: configHome },
    async stop() {
      server.child.kill("SIGTERM");
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET on the instance's API with its owner token: what the API says, to compare with the CLI. */
export async function apiGet(instance: Instance, route: string): Promise<unknown> {
  const response = await fetch(`${instance.url}/api/v1${route}`, {
    headers: { authorization: `Bearer ${instance.token}` },
  });
  return response.json();
}
