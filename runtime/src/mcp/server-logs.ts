import type { Bus } from "@isola/schema";

export interface ServerLogLine {
  at: string;
  level: "debug" | "info" | "warning" | "error";
  /** Where it came from: the tool's code, a limit, a deploy, the runtime. */
  source: "code" | "limit" | "deploy" | "runtime";
  message: string;
  data?: unknown;
  tool?: string;
  caller?: string;
}

/** The last lines of every server, in the Bus: any node writes, the logs API tails them. */
export const SERVER_LOG = { maxLength: 1000, ttlMs: 7 * 24 * 3_600_000 };
export const serverLogKey = (serverId: string) => `logs:${serverId}`;

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
