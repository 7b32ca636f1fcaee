import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The redis-server binary, or an error saying how to get one. */
export function redisServerBinary(): string {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("this test needs redis-server on PATH (apt-get install redis-server; .ci/run does)");
  return found;
}

/** A throwaway redis-server this test may stop and start again on the same port. */
export class RedisServer {
  #child: ChildProcess | undefined;
  readonly #dir = mkdtempSync(join(tmpdir(), "isola-redis-"));
  readonly port: number;
  readonly binary: string;
  private constructor(port: number, binary: string) {
    this.port = port;
    this.binary = binary;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), redisServerBinary());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      this.binary,
      ["--bind", "127.0.0.1", "--port", String(this.port), "--save", "", "--appendonly", "no", "--dir", this.#dir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) resolve();
      };
      child.stdout?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
  }

  /** Kills the server abruptly, as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
