import { type GuestReply, HOST_OPS } from "./protocol.ts";

// The host hands this runtime its one synchronous callback through attach(), an entry point
// it takes (with the others) and removes from the global object before tool code loads.
// So tool code reaches the host only through the functions of this runtime. Not a global at
// load time: the runtime is also loaded from a V8 snapshot, which cannot hold host functions.
type HostCall = (op: string, payload: string) => string;
let hostCall: HostCall = () => {
  throw new Error("the sandbox host is not attached");
};

/** Called once by the host, right after the runtime is loaded. */
export function attach(callback: HostCall): void {
  hostCall = callback;
}

const stringify = JSON.stringify;
const parse = JSON.parse;

/** A synchronous request; the host answers at once. */
export function callHost(op: string, payload: unknown): string {
  return hostCall(op, stringify(payload));
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}
const pending = new Map<number, Pending>();
let nextRequest = 1;

/** An asynchronous request; the host answers later through resolveRequest(). */
export function requestHost(op: string, payload: Record<string, unknown>): Promise<unknown> {
  const id = nextRequest++;
  const promise = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  hostCall(op, stringify({ ...payload, id }));
  return promise;
}

/** Called by the host with the answer to requestHost(): JSON of the value, or an error message. */
export function resolveRequest(id: number, ok: boolean, payload: string): void {
  const request = pending.get(id);
  if (!request) return;
  pending.delete(id);
  if (ok) request.resolve(parse(payload));
  else request.reject(new Error(payload));
}

export function reply<T>(value: GuestReply<T>): string {
  return stringify(value);
}

/** The message of anything thrown, without ever throwing itself. */
export function messageOf(error: unknown): string {
  try {
    // An Error without a message is described by its name, so the text is never empty.
    if (error instanceof Error) return String(error.message) || String(error.name) || "Error";
    if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
    return String(error);
  } catch {
    return "the code threw a value that cannot be described";
  }
}

/**
 * Log lines go to the host within a budget per second (the host enforces the same one). The
 * guest counts too, so that a flood of lines is dropped here, without a round trip per line.
 */
const LOG_LINES_PER_SECOND = 200;
let logWindowStart = 0;
let logLines = 0;

export function logToHost(line: unknown): void {
  const now = Date.now();
  if (now - logWindowStart >= 1000) {
    logWindowStart = now;
    logLines = 0;
  }
  if (++logLines > LOG_LINES_PER_SECOND) return;
  callHost(HOST_OPS.log, line);
}
