// The bridge between the guest runtime (inside an isolate) and the host (the shard
// process). Only strings and numbers cross it. Imported by both sides.

/** Operations the guest asks of the host through the single synchronous host callback. */
export const HOST_OPS = {
  /** Sync: a log line from ctx.log or console. */
  log: "log",
  /** Sync: a progress notification. */
  progress: "progress",
  /** Sync: hex of N random bytes. */
  random: "random",
  /** Sync: parse a URL with the host's WHATWG parser; JSON of its parts, or "" when invalid. */
  parseUrl: "url",
  /** Sync: schedule a timer; the host calls the guest's fireTimer(id) when it is due. */
  setTimer: "timer.set",
  clearTimer: "timer.clear",
  /** Async (answered through resolve): an egress request. */
  fetch: "fetch",
  /** Async: sampling/createMessage through the MCP client. */
  sample: "sample",
  /** Async: elicitation/create through the MCP client. */
  elicit: "elicit",
  /** Async: a completion from the platform's model (ctx.llm), answered by the supervisor. */
  llm: "llm",
} as const;

/** The names the guest runtime installs on globalThis.__isolaGuest for the host to take. */
export const GUEST_ENTRY_POINTS = [
  "attach",
  "describe",
  "callTool",
  "readResource",
  "getPrompt",
  "resolve",
  "fireTimer",
  "abort",
] as const;

export type LogLevel = "debug" | "info" | "warning" | "error";

/** What the host passes with every call (as JSON). */
export interface CallContextData {
  env: Record<string, string>;
  user: { subject: string; clientId: string | null; scopes: string[] } | null;
  /** Largest result, in bytes of JSON, the host will accept. */
  maxResultBytes: number;
}

/** What a guest entry point answers (as JSON): a value, or an error the host reports as such. */
export type GuestReply<T> = { ok: T } | { error: { code: GuestErrorCode; message: string } };

export type GuestErrorCode =
  | "unknown_tool"
  | "unknown_resource"
  | "unknown_prompt"
  | "invalid_arguments"
  | "result_too_large"
  | "no_server"
  /** The server's own code threw (in a resource's read or a prompt's get). */
  | "code_error"
  | "internal";

/** The parts of a URL the host's parser returns to the guest's URL class. */
export const URL_PARTS = [
  "href",
  "protocol",
  "username",
  "password",
  "host",
  "hostname",
  "port",
  "pathname",
  "search",
  "hash",
] as const;
export type UrlPart = (typeof URL_PARTS)[number];
export type UrlParts = Record<UrlPart | "origin", string>;

/** An egress request as the guest sends it (body in base64), and the host's answer. */
export interface GuestFetchRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body?: string;
}
export interface GuestFetchResponse {
  url: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
  redirected: boolean;
}
