import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./redis-server.ts";

// A throwaway PostgreSQL server, which a test may stop and start again on the same port (as
// RedisServer does for Redis), so that a drill can take the database away from a fleet without
// touching the shared one; also the shared one of a test run when DATABASE_URL is unset. The binaries are found as .ci/stores.sh finds
// them (Debian's /usr/lib/postgresql/<version>/bin, the newest), and run as the postgres user
// when the test runs as root, since initdb refuses root.

/** The newest /usr/lib/postgresql/<version>/bin, or an error saying how to get one. */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(join(root, version, "bin", "initdb")))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  if (!newest) throw new Error("this test needs PostgreSQL in /usr/lib/postgresql (apt-get install postgresql)");
  return join(root, newest, "bin");
}

const asRoot = process.getuid?.() === 0;

/** The postgres user's uid and gid, when we are root and must hand it the data directory. */
function postgresOwner(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** Runs a PostgreSQL program (as postgres when root); resolves with its output, rejects on a non-zero exit. */
function run(bin: string, program: string, args: string[]): Promise<string> {
  const [command, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(bin, program), ...args]]
    : [join(bin, program), args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${program} exited with ${code}: ${output}`)),
    );
  });
}

export class PostgresServer {
  readonly port: number;
  readonly #bin: string;
  readonly #dir: string;
  #running = false;

  private constructor(port: number, bin: string, dir: string) {
    this.port = port;
    this.#bin = bin;
    this.#dir = dir;
  }

  /** initdb into a temporary directory, then start on a free loopback port. */
  static async start(): Promise<PostgresServer> {
    const bin = postgresBinDir();
    const dir = mkdtempSync(join(tmpdir(), "isola-pg-"));
    mkdirSync(join(dir, "data"));
    if (asRoot) {
      const { uid, gid } = postgresOwner();
      chownSync(dir, uid, gid);
      chownSync(join(dir, "data"), uid, gid);
    }
    const server = new PostgresServer(await freePort(), bin, dir);
    await run(bin, "initdb", ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "--no-sync"]);
    await server.start();
    return server;
  }

  /** The server's `postgres` database as its superuser: what a fleet creates its database from. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server on its port and waits until it accepts connections. */
  async start(): Promise<void> {
    await run(this.#bin, "pg_ctl", [
      "-D",
      join(this.#dir, "data"),
      "-l",
      join(this.#dir, "log"),
      "-w",
      "-o",
      `-h 127.0.0.1 -p ${this.port} -k ${this.#dir} -c max_connections=300 -c fsync=off`,
      "start",
    ]);
    this.#running = true;
  }

  /**
   * Stops the server. `immediate` is a crash (no checkpoint, connections cut, recovery at the next
   * start); `fast` is an orderly shutdown that disconnects clients.
   */
  async stop(mode: "immediate" | "fast" = "immediate"): Promise<void> {
    if (!this.#running) return;
    await run(this.#bin, "pg_ctl", ["-D", join(this.#dir, "data"), "-m", mode, "-w", "stop"]);
    this.#running = false;
  }

  /** Stops the server and removes its files. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
