import type { GuestReply } from "./protocol.ts";

// The host installs one synchronous callback as globalThis.__isolaHostCall before this
// script runs. It is taken here and removed from the global object, so that tool code can
// reach the host only through the functions of this runtime.
type HostCall = (op: string, payload: string) => string;
const globals = globalThis as unknown as { __isolaHostCall?: HostCall };
const hostCall = globals.__isolaHostCall as HostCall;
delete globals.__isolaHostCall;

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
