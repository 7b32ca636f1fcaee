import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { page, serverView, versionView } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiGet, type Instance, isola, REPO, startInstance } from "./support/cli.ts";
import { cleanEnv } from "./support/isola-process.ts";
import { eventually } from "./support/wait.ts";

// The acceptance of issue 4's CLI: `isola deploy examples/hello --slug hello` against a fresh
// `isola start` prints the server's MCP URL. A real process, real commands, real compiles.
let instance: Instance;
let work: string;
beforeAll(async () => {
  instance = await startInstance();
  work = mkdtempSync(join(tmpdir(), "isola-cli-deploy-"));
});
afterAll(async () => {
  await instance?.stop();
  rmSync(work, { recursive: true, force: true });
});

const run = (args: string[], input?: string) =>
  isola(args, { env: instance.env, ...(input === undefined ? {} : { input }) });

/** A source directory under the test's temp dir, with these files. */
function sourceDir(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  return dir;
}

const HELLO = readFileSync(join(REPO, "examples/hello/index.ts"), "utf8");

describe("isola deploy", () => {
  it("creates the server, uploads version 1, makes it live and prints its MCP URL", async () => {
    const result = await run(["deploy", "examples/hello", "--slug", "hello"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`MCP URL: ${instance.url}/hello/mcp\n`);
    expect(result.stdout).toContain("Created server hello (auth mode api_key).");
    expect(result.stdout).toContain("Uploaded version 1 (1 tool: hello).");
    expect(result.stdout).toContain("hello version 1 is live.");
    const server = serverView.parse(await apiGet(instance, "/servers/hello"));
    expect(server).toMatchObject({ activeVersion: 1, status: "live", authMode: "api_key", name: "hello" });
    expect(result.stdout).toContain(server.mcpUrl);
  });

  it("makes version 2 when deployed again", async () => {
    const result = await run(["deploy", "examples/hello", "--slug", "hello"]);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toContain("Created server");
    expect(result.stdout).toContain("hello version 2 is live.");
    expect(serverView.parse(await apiGet(instance, "/servers/hello")).activeVersion).toBe(2);
  });

  it("prints each compile error as file:line:column and stores nothing", async () => {
    const dir = sourceDir("broken", {
      "index.ts":
        'import { defineServer } from "isola";\nconst port: number = "80";\nexport default defineServer({ name: "broken", tools: {} });\n',
      "lib/util.d.ts": "this is not even TypeScript, and declaration files are not uploaded",
      "node_modules/dep/index.ts": "neither are dependencies",
      ".hidden.ts": "nor dotfiles",
    });
    const result = await run(["deploy", dir, "--slug", "hello"]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      [
        "isola: 1 problem(s) in the code; nothing was stored",
        `${dir}/index.ts:2:7  Type 'string' is not assignable to type 'number'. (TS2322)`,
        "",
      ].join("\n"),
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const versions = page(versionView).parse(await apiGet(instance, "/servers/hello/versions"));
    expect(versions.items.map((v) => v.number)).toEqual([2, 1]);
  });

  it("names unapproved egress hosts and the exact commands that approve them and go live", async () => {
    const dir = sourceDir("fetcher", {
      "index.ts": HELLO.replace('name: "hello",', 'name: "fetcher",\n  egress: ["api.example.com"],'),
    });
    const refused = await run(["deploy", dir, "--slug", "fetcher"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("Version 1 of fetcher fetches hosts that are not approved: api.example.com\n");
    const commands = refused.stderr
      .split("\n")
      .filter((line) => line.startsWith("  isola "))
      .map((line) => line.trim().split(" ").slice(1));
    expect(commands).toEqual([
      ["servers", "approve", "fetcher", "api.example.com"],
      ["versions", "deploy", "fetcher", "1"],
    ]);
    for (const command of commands) expect((await run(command)).status).toBe(0);
    const server = serverView.parse(await apiGet(instance, "/servers/fetcher"));
    expect(server).toMatchObject({ activeVersion: 1, status: "live", egressApproved: ["api.example.com"] });
  });
});

describe("isola versions ls, rollback and servers ls --json: the API's JSON", () => {
  it("lists versions newest first, with the live one marked", async () => {
    const listed = await run(["versions", "ls", "hello", "--json"]);
    expect(listed.status).toBe(0);
    const versions = page(versionView).parse(JSON.parse(listed.stdout));
    expect(versions.items.map((v) => [v.number, v.active])).toEqual([
      [2, true],
      [1, false],
    ]);
    const human = await run(["versions", "ls", "hello"]);
    expect(human.stdout).toMatch(/^VERSION +CREATED +BY +TOOLS\n2 \* +\S+ \S+ +owner@example\.com +hello\n1 +/);
  });

  it("rolls back to version 1", async () => {
    const result = await run(["rollback", "hello", "1", "--json"]);
    expect(result.status).toBe(0);
    expect(serverView.parse(JSON.parse(result.stdout))).toMatchObject({ slug: "hello", activeVersion: 1 });
    const again = await run(["rollback", "hello", "1"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe("isola: roll back to a version before the live one (1); use deploy for newer ones\n");
  });

  it("lists servers", async () => {
    const result = await run(["servers", "ls", "--json"]);
    expect(result.status).toBe(0);
    const servers = page(serverView).parse(JSON.parse(result.stdout));
    expect(servers.items.map((s) => [s.slug, s.activeVersion, s.mcpUrl])).toEqual([
      ["fetcher", 1, `${instance.url}/fetcher/mcp`],
      ["hello", 1, `${instance.url}/hello/mcp`],
    ]);
  });

  it("prints the problem document on stdout under --json, and exits 1", async () => {
    const result = await run(["versions", "ls", "nothing-here", "--json"]);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "urn:isola:problem:not-found", status: 404 });
    expect(result.stderr).toMatch(/^isola: .*nothing-here.*\n$/);
  });
});

describe("isola servers", () => {
  it("creates, pauses, resumes and deletes (only with --yes)", async () => {
    const created = await run(["servers", "create", "scratch", "--auth-mode", "public", "--name", "Scratch pad"]);
    expect(created.status).toBe(0);
    expect(created.stdout).toContain("Created scratch in org");
    const taken = await run(["servers", "create", "scratch", "--auth-mode", "public"]);
    expect(taken.status).toBe(1);
    expect(taken.stderr).toBe("isola: a server called scratch exists; choose another slug\n");

    const draftPause = await run(["servers", "pause", "scratch"]);
    expect(draftPause.status).toBe(1);
    expect(draftPause.stderr).toBe("isola: a draft server serves nothing to pause\n");
    expect((await run(["servers", "pause", "hello"])).stdout).toBe("hello: paused, auth mode api_key, version 1\n");
    expect((await run(["servers", "resume", "hello"])).stdout).toBe("hello: live, auth mode api_key, version 1\n");

    expect((await run(["servers", "rm", "scratch"])).status).toBe(2);
    expect(serverView.parse(await apiGet(instance, "/servers/scratch")).name).toBe("Scratch pad");
    const removed = await run(["servers", "rm", "scratch", "--yes"]);
    expect(removed).toMatchObject({ status: 0, stdout: "Deleted scratch.\n" });
    expect(await apiGet(instance, "/servers/scratch")).toMatchObject({ status: 404 });
  });
});

describe("isola deploy --watch", () => {
  it("redeploys when a file changes, reports a broken save and keeps watching, stops on Ctrl-C", async () => {
    const dir = join(work, "watched");
    cpSync(join(REPO, "examples/hello"), dir, { recursive: true });
    const child = spawn(
      process.execPath,
      ["--no-node-snapshot", "runtime/src/main.ts", "deploy", dir, "--slug", "watched", "--watch"],
      { cwd: REPO, env: cleanEnv(instance.env), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await eventually(() => (stdout.includes("Watching") ? true : undefined), 30_000);
      expect(stdout).toContain(`watched version 1 is live.\nMCP URL: ${instance.url}/watched/mcp\n`);

      writeFileSync(join(dir, "index.ts"), HELLO.replace("Says hello", "Says hello, again"));
      await eventually(() => (stdout.includes("watched version 2 is live.") ? true : undefined), 30_000);

      writeFileSync(join(dir, "index.ts"), HELLO.replace("run: ({ name })", "run: ({ nom })"));
      await eventually(() => (stderr.includes("index.ts:") ? true : undefined), 30_000);
      expect(stderr).toContain(`${dir}/index.ts:`);
      expect(serverView.parse(await apiGet(instance, "/servers/watched")).activeVersion).toBe(2);

      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/Stopped watching\.\n$/);
    } finally {
      child.kill("SIGKILL");
    }
  }, 90_000);
});
