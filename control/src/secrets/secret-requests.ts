import { randomBytes } from "node:crypto";
import type { Bus, SecretRequestField, SecretRequestView } from "@isola/schema";
import { open, type Sealed, seal } from "./cipher.ts";
import type { SecretKey } from "./key.ts";

// A secret request: Isola's MCP server wants secret values from its user, and sends them to a page
// of Isola's own (URL-mode elicitation) instead of asking in the client. The request, the answer
// (sealed with the secret key, bound to the request's id) and the wake-up all live on the Bus, so
// that the page may post to any node while the tool call waits on another. Nothing is stored in
// Postgres: a request lives minutes and is used once.

export const SECRET_REQUEST_TTL_MS = 10 * 60_000;

export interface SecretRequest {
  id: string;
  /** Only this user may read and answer it: the MCP caller who was asked. */
  userId: string;
  fields: SecretRequestField[];
  message: string;
  createdAt: string;
}

const requestKey = (id: string) => `secret-request:${id}`;
const answerKey = (id: string) => `secret-request:${id}:answer`;
// Taken by the first answer, so that two answers at once cannot both pass.
const claimKey = (id: string) => `secret-request:${id}:claimed`;
/** Published when the request is answered; the waiting call wakes up. */
export const secretRequestChannel = (id: string) => `secret-requests.${id}`;
// The answer opens only as the answer to this very request.
const associatedData = (id: string) => `secret-request:${id}`;

/** Where the user answers it (the web app's page). Pure. */
export const secretRequestUrl = (publicUrl: string, id: string) => `${publicUrl}/secret-requests/${id}`;

export function expiresAt(request: Pick<SecretRequest, "createdAt">): Date {
  return new Date(new Date(request.createdAt).getTime() + SECRET_REQUEST_TTL_MS);
}

export function viewOf(request: SecretRequest): SecretRequestView {
  const { id, message, fields } = request;
  return { id, message, fields, expiresAt: expiresAt(request).toISOString() };
}

export async function createSecretRequest(
  bus: Bus,
  ask: Pick<SecretRequest, "userId" | "fields" | "message">,
  now = new Date(),
): Promise<SecretRequest> {
  const request: SecretRequest = {
    id: randomBytes(16).toString("base64url"),
    ...ask,
    createdAt: now.toISOString(),
  };
  await bus.set(requestKey(request.id), JSON.stringify(request), { ttlMs: SECRET_REQUEST_TTL_MS });
  return request;
}

/** The request, if it is still open and `userId`'s; anyone else's is as absent as an expired one. */
export async function readSecretRequest(bus: Bus, id: string, userId: string): Promise<SecretRequest | undefined> {
  const stored = await bus.get(requestKey(id));
  if (!stored) return undefined;
  const request = JSON.parse(stored) as SecretRequest;
  return request.userId === userId ? request : undefined;
}

export interface FieldError {
  path: string;
  message: string;
}

/** What is wrong with an answer: a required value missing, a name the request does not ask for. Pure. */
export function answerErrors(fields: SecretRequestField[], values: Record<string, string>): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of fields) {
    if (field.required && !(field.name in values)) {
      errors.push({ path: `values.${field.name}`, message: `${field.name} is required` });
    }
  }
  const asked = new Set(fields.map((field) => field.name));
  for (const name of Object.keys(values)) {
    if (!asked.has(name)) errors.push({ path: `values.${name}`, message: `this request does not ask for ${name}` });
  }
  return errors;
}

/**
 * Stores the (checked) answer, sealed, closes the request and wakes the waiting call. False when
 * another answer came first: the request is single use.
 */
export async function answerSecretRequest(
  bus: Bus,
  key: SecretKey,
  request: SecretRequest,
  values: Record<string, string>,
  now = new Date(),
): Promise<boolean> {
  const ttlMs = Math.max(expiresAt(request).getTime() - now.getTime(), 1_000);
  if (!(await bus.set(claimKey(request.id), "1", { ttlMs, onlyIfAbsent: true }))) return false;
  const sealed = seal(key.bytes, JSON.stringify(values), associatedData(request.id));
  // The answer before the request goes: a waiter that sees the request gone finds the answer.
  await bus.set(answerKey(request.id), JSON.stringify(sealed), { ttlMs });
  await bus.delete(requestKey(request.id));
  await bus.publish(secretRequestChannel(request.id), "answered");
  return true;
}

/** Takes the answer (read once, then deleted), opened; undefined while there is none. */
export async function takeAnswer(bus: Bus, key: SecretKey, id: string): Promise<Record<string, string> | undefined> {
  const stored = await bus.get(answerKey(id));
  if (!stored) return undefined;
  await bus.delete(answerKey(id));
  return JSON.parse(open(key.bytes, JSON.parse(stored) as Sealed, associatedData(id))) as Record<string, string>;
}

/** Removes what is left of a request: the request, its answer, its claim. */
export async function dropSecretRequest(bus: Bus, id: string): Promise<void> {
  await Promise.all([bus.delete(requestKey(id)), bus.delete(answerKey(id)), bus.delete(claimKey(id))]);
}

export type Waited = { ok: true; values: Record<string, string> } | { ok: false; why: "timed out" | "cancelled" };

export interface WaitOptions {
  /** Epoch ms. */
  deadline: number;
  signal?: AbortSignal;
  pollMs?: number;
}

/**
 * Waits for the answer: woken by the request's channel, and polling the Bus every `pollMs` in
 * case the message was missed (another node's publish during a reconnect). The request gone
 * without an answer means it expired: nothing will come.
 */
export async function waitForAnswer(bus: Bus, key: SecretKey, id: string, options: WaitOptions): Promise<Waited> {
  const { deadline, signal, pollMs = 500 } = options;
  let wake = () => {};
  const unsubscribe = await bus.subscribe(secretRequestChannel(id), () => wake()).catch(() => async () => {});
  try {
    for (;;) {
      const values = await takeAnswer(bus, key, id);
      if (values) return { ok: true, values };
      if (signal?.aborted) return { ok: false, why: "cancelled" };
      if (!(await bus.get(requestKey(id)))) {
        const late = await takeAnswer(bus, key, id);
        return late ? { ok: true, values: late } : { ok: false, why: "timed out" };
      }
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, why: "timed out" };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(pollMs, left));
        signal?.addEventListener("abort", done, { once: true });
        wake = done;
      });
    }
  } finally {
    await unsubscribe().catch(() => {});
  }
}
