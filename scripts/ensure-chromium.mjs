#!/usr/bin/env node
// Before the tests: the web app's browser tests drive Chromium (runtime/test/web/support/browser.ts).
// When no Chromium is found and this machine can install Debian's package (root, apt-get), it
// does so, once; otherwise it says how, and fails, rather than letting those tests fail one by one.
// Plain JavaScript with only built-in modules.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const candidates = [process.env.ISOLA_CHROMIUM, "/usr/lib/chromium/chromium", "/usr/bin/chromium"].filter(Boolean);
const found = () => candidates.find((path) => existsSync(path));
const log = (message) => process.stderr.write(`ensure-chromium: ${message}\n`);

if (!found()) {
  const canInstall =
    process.platform === "linux" && process.getuid?.() === 0 && spawnSync("apt-get", ["--version"]).status === 0;
  if (!canInstall) {
    log("no Chromium for the browser tests: install it (`sudo apt-get install -y chromium` on Debian/Ubuntu),");
    log("or set ISOLA_CHROMIUM to a Chromium or Chrome binary");
    process.exit(1);
  }
  log("installing Debian's chromium package for the browser tests (one time)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "chromium"],
  ]) {
    const run = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env });
    if (run.status !== 0) {
      log(`apt-get ${args.join(" ")} failed`);
      process.exit(1);
    }
  }
  if (!found()) {
    log("chromium was installed but is not where the tests look for it: set ISOLA_CHROMIUM");
    process.exit(1);
  }
}
