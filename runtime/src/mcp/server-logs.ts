import { type Bus, SERVER_LOG, type ServerLogLine, serverLogKey } from "@isola/schema";

/** Writes servers' live logs (read by the logs API, which streams them over SSE). */
export class ServerLogs {
  readonly #bus: Bus;
  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /** Best effort: a Bus outage costs log lines, never calls. */
  write(serverId: string, line: Omit<ServerLogLine, "at">): void {
    const entry: ServerLogLine = { at: new Date().toISOString(), ...line };
    void this.#bus.append(serverLogKey(serverId), JSON.stringify(entry), SERVER_LOG).catch(() => {});
  }
}
