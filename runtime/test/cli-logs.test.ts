import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerLogs, serverLogEntry, serverLogPage } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, startApi } from "./support/api-harness.ts";
import { isola, REPO } from "./support/cli.ts";
import { cleanEnv } from "./support/isola-process.ts";
import { eventually } from "./support/wait.ts";

// `isola logs S [--follow] [--json]` against the API in this process: the last lines, then
// (--follow) new ones as they come, reconnecting with Last-Event-ID when the connection drops
// (here: a proxy the test cuts), until Ctrl-C, which exits 0.

/** A TCP proxy in front of the API that the test can cut, and keep refusing for a while. */
class CuttableProxy {
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  refusing = false;
  connections = 0;
  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      if (this.refusing) return void client.destroy();
      this.connections++;
      const upstream = tcpConnect(target.port, target.host);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.#sockets.add(from);
        from.pipe(to);
        from.on("error", () => to.destroy());
        from.on("close", () => {
          this.#sockets.delete(from);
          to.destroy();
        });
      }
    });
  }
  listen(): Promise<string> {
    return new Promise((resolve) =>
      this.#server.listen(0, "127.0.0.1", () => {
        const address = this.#server.address();
        resolve(`http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`);
      }),
    );
  }
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** `isola ...args` running in the background, its output so far, and how it exited. */
function background(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ["--no-node-snapshot", "runtime/src/main.ts", ...args], {
    cwd: REPO,
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = () => output.stdout.split("\n").filter(Boolean);
  /** Waits until stdout holds `count` lines. */
  const printed = (count: number) =>
    eventually(() => (lines().length >= count ? lines() : undefined), 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; stdout: ${output.stdout}; stderr: ${output.stderr}`);
    });
  return { child, output, exited, lines, printed };
}

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}(debug|info|warning|error) +[a-z]+(\/\S+)? {2}.+$/;
const message = (line: string) => line.replace(/^\S+ \S+ {2}\S+ +\S+ {2}/, "");

describe("isola logs", () => {
  let api: Api;
  let env: Record<string, string>;
  let configHome: string;
  let logs: ServerLogs;
  let serverId: string;
  const write = (text: string, extra = {}) =>
    logs.write(serverId, { level: "info", source: "runtime", message: text, ...extra });

  beforeAll(async () => {
    api = await startApi(undefined, {}, { listen: true });
    configHome = mkdtempSync(join(tmpdir(), "isola-cli-logs-"));
    env = { ISOLA_URL: api.url, ISOLA_TOKEN: api.adminToken, XDG_CONFIG_HOME: configHome };
    await deployHello(api.admin, "tail");
    expect((await api.admin.post("servers", { slug: "quiet", name: "Quiet", authMode: "public" })).status).toBe(201);
    logs = new ServerLogs(api.stores.bus);
    serverId = (
      await api.stores.db.selectFrom("servers").select("id").where("slug", "=", "tail").executeTakeFirstOrThrow()
    ).id;
    for (let i = 1; i <= 5; i++) await write(`line ${i}`);
    await logs.write(serverId, {
      level: "error",
      source: "code",
      message: "it broke",
      tool: "hello",
      caller: "key-a",
      data: { attempt: 2 },
    });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    rmSync(configHome, { recursive: true, force: true });
  });

  it("prints the last lines, one per line, for people", async () => {
    const result = await isola(["logs", "tail", "--lines", "3"], { env });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(LINE);
    expect(lines[0]).toMatch(/ {2}info {5}runtime {2}line 4$/);
    expect(lines[2]).toMatch(/ {2}error {4}code\/hello {2}it broke \{"attempt":2\} \(caller: key-a\)$/);
    // By default: the last 100, here all of them, the deploy first.
    const all = await isola(["logs", "tail"], { env });
    expect(all.stdout.split("\n").filter(Boolean).map(message)[0]).toMatch(/^version 1 is live \(deploy by /);
  });

  it("prints the API's JSON with --json", async () => {
    const result = await isola(["logs", "tail", "--lines", "2", "--json"], { env });
    expect(result.status).toBe(0);
    const page = serverLogPage.parse(JSON.parse(result.stdout));
    expect(page.items.map((item) => item.message)).toEqual(["line 5", "it broke"]);
    expect(page.lastId).toBe(page.items[1]?.id);
  });

  it("says so when the log is empty", async () => {
    const result = await isola(["logs", "quiet"], { env });
    expect(result).toMatchObject({ status: 0, stdout: "Nothing in the log of quiet yet.\n" });
  });

  it.concurrent.each([
    [["logs", "nothing-here"], 1, /^isola: no server called nothing-here\n$/],
    [["logs", "nothing-here", "--follow"], 1, /^isola: no server called nothing-here\n$/],
    [["logs", "Not A Slug"], 1, /^isola: "Not A Slug" cannot be a slug/],
    [["logs"], 2, /^isola: missing S\n\nUsage: isola logs S \[--follow\] \[--lines N\] \[--json\]\n$/],
    [["logs", "tail", "--lines", "0"], 2, /--lines takes a whole number from 1 to 1000, not "0"/],
    [["logs", "tail", "--lines", "1001"], 2, /--lines takes a whole number from 1 to 1000/],
  ])("refuses %j (exit %i)", async (args, status, stderr) => {
    const result = await isola(args, { env });
    expect(result.status).toBe(status);
    expect(result.stderr).toMatch(stderr);
  });

  it("--follow prints new lines, rides out a cut connection without gaps or repeats, and exits 0 on Ctrl-C", async () => {
    const proxy = new CuttableProxy({ host: "127.0.0.1", port: Number(new URL(api.url).port) });
    const url = await proxy.listen();
    const run = background(["logs", "tail", "--follow", "--lines", "2"], { ...env, ISOLA_URL: url });
    try {
      expect((await run.printed(2)).map(message)).toEqual(["line 5", 'it broke {"attempt":2} (caller: key-a)']);
      await write("live 1");
      await write("live 2");
      await run.printed(4);

      // The connection drops and, for a while, nothing gets through; lines are written meanwhile.
      proxy.refusing = true;
      proxy.cut();
      await eventually(() => (run.output.stderr.includes("reconnecting") ? true : undefined), 10_000);
      // More than --lines: only resuming after the last id seen prints them all.
      await write("while away 1");
      await write("while away 2");
      await write("while away 3");
      const before = proxy.connections;
      proxy.refusing = false;
      await run.printed(7);
      expect(proxy.connections).toBeGreaterThan(before);
      await write("after");
      await run.printed(8);
      expect(run.lines().map(message)).toEqual([
        "line 5",
        'it broke {"attempt":2} (caller: key-a)',
        "live 1",
        "live 2",
        "while away 1",
        "while away 2",
        "while away 3",
        "after",
      ]);
      for (const line of run.lines()) expect(line).toMatch(LINE);

      run.child.kill("SIGINT");
      expect(await run.exited).toBe(0);
      expect(run.output.stderr).toMatch(/the log stream was cut; reconnecting\n(.*\n)*isola: reconnected/);
    } finally {
      run.child.kill("SIGKILL");
      await proxy.close();
    }
  }, 60_000);

  it("--follow --json prints one JSON object per line", async () => {
    const run = background(["logs", "tail", "--follow", "--json", "--lines", "1"], env);
    try {
      await run.printed(1);
      await write("as json", { data: { n: 1 } });
      const lines = (await run.printed(2)).map((line) => serverLogEntry.parse(JSON.parse(line)));
      expect(lines.map((l) => l.message)).toEqual(["after", "as json"]);
      expect(lines[1]).toMatchObject({ level: "info", source: "runtime", data: { n: 1 } });
      expect(lines[1]?.id).toMatch(/^\d+-\d+$/);
      run.child.kill("SIGINT");
      expect(await run.exited).toBe(0);
      expect(run.output.stderr).toBe("");
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 60_000);
});
