#!/usr/bin/env node
// Before the tests: the programs they drive, from Debian's packages. Chromium for the web app's
// browser tests, PostgreSQL and Redis for the store suites, fleets and drills (started for the run
// when DATABASE_URL / REDIS_URL are unset: runtime/test/support/real-stores-setup.ts), bubblewrap
// for the read-only-root test and Caddy to parse deploy/Caddyfile. What is missing is installed in
// one apt-get when this machine can (root, apt-get); otherwise this says how, and fails, rather
// than letting the tests that need them fail one by one. Plain JavaScript with only built-in modules.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const onPath = (name) => spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
const postgresInstalled = () =>
  existsSync("/usr/lib/postgresql") &&
  readdirSync("/usr/lib/postgresql").some((version) => existsSync(`/usr/lib/postgresql/${version}/bin/initdb`));

const tools = [
  {
    package: "chromium",
    found: () =>
      [process.env.ISOLA_CHROMIUM, "/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .filter(Boolean)
        .some((path) => existsSync(path)),
    other: "or set ISOLA_CHROMIUM to a Chromium or Chrome binary",
  },
  {
    package: "postgresql",
    found: postgresInstalled,
    other: "its binaries must be in /usr/lib/postgresql/<version>/bin",
  },
  { package: "redis-server", found: () => onPath("redis-server") },
  { package: "bubblewrap", found: () => onPath("bwrap") },
  { package: "caddy", found: () => onPath("caddy") },
];

const log = (message) => process.stderr.write(`ensure-test-tools: ${message}\n`);
const missing = () => tools.filter((tool) => !tool.found());

if (missing().length > 0) {
  const names = missing().map((tool) => tool.package);
  const canInstall =
    process.platform === "linux" && process.getuid?.() === 0 && spawnSync("apt-get", ["--version"]).status === 0;
  if (!canInstall) {
    log(
      `the tests need ${names.join(", ")}: install them (\`sudo apt-get install -y ${names.join(" ")}\` on Debian/Ubuntu)`,
    );
    for (const tool of missing()) if (tool.other) log(`${tool.package}: ${tool.other}`);
    process.exit(1);
  }
  log(`installing ${names.join(", ")} from Debian's packages for the tests (one time)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", ...names],
  ]) {
    const run = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env });
    if (run.status !== 0) {
      log(`apt-get ${args.join(" ")} failed`);
      process.exit(1);
    }
  }
  const still = missing();
  if (still.length > 0) {
    log(`installed, but not found where the tests look: ${still.map((tool) => tool.package).join(", ")}`);
    process.exit(1);
  }
}
