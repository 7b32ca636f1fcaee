import { SERVER_LOG, type ServerLogLine, serverLogKey } from "./api/logs.ts";
import type { Bus } from "./bus.ts";

/**
 * Writes servers' live logs to the Bus: the runtime (tool output, errors, limits) and the
 * control plane (deploys, pauses) alike. The logs API reads and streams them.
 */
export class ServerLogs {
  readonly #bus: Bus;
  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /** Best effort: a Bus outage costs log lines, never calls. Resolves once written (or dropped); never rejects. */
  write(serverId: string, line: Omit<ServerLogLine, "at">): Promise<void> {
    const entry: ServerLogLine = { at: new Date().toISOString(), ...line };
    return this.#bus.append(serverLogKey(serverId), JSON.stringify(entry), SERVER_LOG).then(
      () => {},
      () => {},
    );
  }
}
