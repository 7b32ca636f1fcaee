// console.* writes to the server's log, not to any call.
import { logToHost } from "../bridge.ts";
import type { LogLevel } from "../protocol.ts";

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const write =
  (level: LogLevel) =>
  (...data: unknown[]) => {
    logToHost({ callId: null, level, message: data.map(describe).join(" ") });
  };

export const console = Object.freeze({
  log: write("info"),
  info: write("info"),
  warn: write("warning"),
  error: write("error"),
  debug: write("debug"),
});
