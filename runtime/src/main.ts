// The `isola` command. `start` and `migrate` run Isola itself and read its configuration from
// the environment; every other command is a client of an instance's API (cli/) and reads none,
// so a laptop with no server configuration can deploy to a remote instance.

const argv = process.argv.slice(2);
const [command] = argv;
const wantsHelp = argv.includes("--help") || argv.includes("-h");

async function main(): Promise<number> {
  const instanceCommands = ["start", "migrate", "rotate-secret-key", "rotate-oauth-key"] as const;
  const instanceCommand = instanceCommands.find((name) => name === command);
  if (instanceCommand && !wantsHelp) {
    // Loaded only here: the stores, the sandbox and the control plane take a while to import.
    const { runInstanceCommand } = await import("./cli/instance.ts");
    await runInstanceCommand(instanceCommand);
    return 0;
  }
  const [{ runCli }, { processIo }] = await Promise.all([import("./cli/run.ts"), import("./cli/io.ts")]);
  return runCli(argv, processIo());
}

main().then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    // start/migrate failing before they run (a migration, the database): open handles may remain.
    process.stderr.write(`isola: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
