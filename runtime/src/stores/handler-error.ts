/** A subscriber that throws must not take the bus (or the process) down with it. */
export function reportHandlerError(error: unknown, channel: string): void {
  process.emitWarning(`bus subscriber for ${channel} threw: ${error instanceof Error ? error.message : String(error)}`);
}
