import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import type { ModelError } from "./build-model.ts";

// The retry policy of model requests, pure: which failures are worth another attempt, and
// how long to wait before it. The SDK's own retries are off (maxRetries: 0) so that every
// retry is ours, counted and reported in the build's events.

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The first backoff; each next one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer retry-after than this is not waited for: the request fails at once. */
  maxRetryAfterMs: number;
  /** An attempt that receives nothing for this long is abandoned as timed out. */
  idleTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  // Adaptive thinking may stream nothing but pings (which the SDK does not surface) for minutes.
  idleTimeoutMs: 300_000,
};

/** What went wrong with one attempt. */
export interface Failure {
  kind: ModelError["kind"];
  retryable: boolean;
  /** One line, for the events and the final error. */
  reason: string;
  /** What the server asked us to wait (retry-after), when it did. */
  retryAfterMs?: number;
}

/** Our watchdog's verdict on an attempt that went quiet. */
export class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`no answer for ${Math.round(ms / 1000)} s`);
    this.name = "AttemptTimeout";
  }
}

/** Exponential backoff with equal jitter: half the step fixed, half random, never more than maxDelayMs. */
export function backoffDelay(failedAttempt: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(step / 2 + (step / 2) * random());
}

/** retry-after-ms, else retry-after (seconds or an HTTP date), in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now: number): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers?.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number.parseFloat(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The delay before the next attempt: what the server asked for, else our backoff. */
export function retryDelay(failure: Failure, failedAttempt: number, policy: RetryPolicy, random: () => number): number {
  return failure.retryAfterMs ?? backoffDelay(failedAttempt, policy, random);
}

const TRANSPORT_FAILURE =
  /terminated|other side closed|socket|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|fetch failed|stream ended|request ended without/i;

/**
 * Sorts a thrown error into a Failure; `cancelled` tells it the caller's signal fired. Undefined:
 * not a failure of the model or the network (a bug, a progress callback that threw), which the
 * caller rethrows as it is.
 */
export function classifyFailure(error: unknown, cancelled: boolean, now = Date.now()): Failure | undefined {
  if (cancelled) return { kind: "cancelled", retryable: false, reason: "cancelled" };
  if (error instanceof AttemptTimeout)
    return { kind: "timeout", retryable: true, reason: `timed out: ${error.message}` };
  if (error instanceof APIConnectionTimeoutError) {
    return { kind: "timeout", retryable: true, reason: "timed out waiting for the response" };
  }
  // An abort we did not ask for (neither the caller nor our watchdog): treat as a dropped connection.
  if (error instanceof APIUserAbortError || error instanceof APIConnectionError) {
    return { kind: "unavailable", retryable: true, reason: `connection failed: ${describeCause(error)}` };
  }
  if (error instanceof APIError) return classifyApiError(error, now);
  if (error instanceof Error && TRANSPORT_FAILURE.test(`${error.message} ${describeCause(error)}`)) {
    return { kind: "unavailable", retryable: true, reason: `the response was cut off: ${error.message}` };
  }
  return undefined;
}

function classifyApiError(error: APIError, now: number): Failure {
  const status = error.status;
  const type = error.type ?? "";
  const detail = error.apiMessage ? `: ${error.apiMessage}` : "";
  const said =
    status === undefined ? `the stream reported ${type || "an error"}${detail}` : `${status} ${type}${detail}`;
  const retryAfter = retryAfterMs(error.headers, now);
  if (status === 429 || type === "rate_limit_error") {
    return { kind: "rate-limited", retryable: true, reason: `rate limited (${said})`, retryAfterMs: retryAfter };
  }
  if (status === 529 || type === "overloaded_error") {
    return { kind: "unavailable", retryable: true, reason: `overloaded (${said})`, retryAfterMs: retryAfter };
  }
  if (status === 408 || type === "timeout_error") {
    return { kind: "timeout", retryable: true, reason: `timed out (${said})`, retryAfterMs: retryAfter };
  }
  if (status === undefined || status >= 500 || status === 409) {
    return { kind: "unavailable", retryable: true, reason: `unavailable (${said})`, retryAfterMs: retryAfter };
  }
  if (status === 401) {
    return { kind: "no-key", retryable: false, reason: `the API key was not accepted (${said})` };
  }
  return { kind: "rejected", retryable: false, reason: `the API rejected the request (${said})` };
}

function describeCause(error: Error): string {
  const cause = error.cause;
  if (cause instanceof Error) return `${cause.message}${"code" in cause ? ` (${String(cause.code)})` : ""}`;
  return error.message;
}
