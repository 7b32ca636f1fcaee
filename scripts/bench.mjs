#!/usr/bin/env node
// `pnpm bench`: the sandbox benchmark, the end-to-end MCP benchmark, the build benchmark, then the web benchmark,
// one after the other (they would skew each other on the same cores). Arguments go to the MCP
// benchmark (`pnpm bench --real-stores`). Each also runs alone: `pnpm bench:sandbox`,
// `pnpm bench:mcp`, `pnpm bench:build`, `pnpm bench:web`.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const benches = [
  ["sandbox/bench/sandbox-bench.ts", []],
  ["runtime/bench/mcp-bench.ts", process.argv.slice(2)],
  ["runtime/bench/build-bench.ts", []],
  ["runtime/bench/web-bench.ts", []],
];
let failed = false;
for (const [file, args] of benches) {
  const run = spawnSync(process.execPath, ["--no-node-snapshot", join(root, file), ...args], {
    stdio: "inherit",
    cwd: root,
  });
  if (run.status !== 0) {
    process.stderr.write(`bench: ${file} ended with ${run.signal ?? `status ${run.status}`}\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
