/**
 * Runs `stop` once, on the first SIGTERM or SIGINT, and exits: 0 when it finished within
 * `graceMs`, 1 when it did not (or threw). A second signal exits at once with 1.
 * Orchestrators send SIGTERM and wait (Fly and Docker: 10 s by default) before SIGKILL.
 */
export function exitOnSignals(
  stop: () => Promise<void>,
  options: { graceMs: number; log: (level: "info" | "error", message: string) => void },
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.log("error", `${signal} again: exiting without finishing the drain`);
      process.exit(1);
    }
    stopping = true;
    options.log("info", `${signal}: no longer accepting connections, finishing in-flight requests`);
    const deadline = setTimeout(() => {
      options.log("error", `in-flight work did not finish within ${options.graceMs} ms; exiting`);
      process.exit(1);
    }, options.graceMs);
    deadline.unref();
    stop().then(
      () => {
        options.log("info", "stopped cleanly");
        process.exit(0);
      },
      (error: unknown) => {
        options.log("error", `stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
