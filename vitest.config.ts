import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["*/test/**/*.test.ts"],
    // isolated-vm needs its own process per worker and Node's startup snapshot off.
    pool: "forks",
    execArgv: ["--no-node-snapshot"],
    globalSetup: ["./runtime/test/support/real-stores-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
