import { STATUS_CODES } from "node:http";
import type { ProblemDetails } from "@isola/schema";

/**
 * The web app's only way to the control plane: its HTTP API (/api/v1), on behalf of the browser
 * that made the page request (its cookie, its address). One client per page request.
 */

/** What a transport sends: a path under /api/v1, headers, a JSON body. */
export interface ControlRequest {
  method: string;
  /** Under /api/v1, starting with "/" ("/me", "/servers/abc"). */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The browser's address, for control's per-address limits (sign-in attempts). */
  clientIp?: string;
}

/** What a transport hands back, the same whichever way the request went. */
export interface ControlAnswer {
  status: number;
  headers: Headers;
  setCookies: string[];
  body: string;
}

export type ControlTransport = (request: ControlRequest) => Promise<ControlAnswer>;

export type ControlResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number; problem: ProblemDetails; headers: Headers };

export interface ControlClient {
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ControlResult<T>>;
  get<T = unknown>(path: string, headers?: Record<string, string>): Promise<ControlResult<T>>;
  post<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ControlResult<T>>;
  put<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ControlResult<T>>;
  patch<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ControlResult<T>>;
  delete<T = unknown>(path: string, headers?: Record<string, string>): Promise<ControlResult<T>>;
}

export interface ClientOptions {
  /** The browser's Cookie header, forwarded as it is (it carries the session). */
  cookie?: string | undefined;
  clientIp?: string | undefined;
  /** The page request's id, sent as X-Request-Id so that control's log lines carry the same id. */
  requestId?: string | undefined;
  /** Receives each Set-Cookie control answers with (sign-in, sign-out), for the browser. */
  onSetCookie(value: string): void;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Answers that are not problem details still become one, so that pages have one shape to show. */
function asProblem(status: number, contentType: string | null, body: string): ProblemDetails {
  if (contentType && /^application\/problem\+json\b/i.test(contentType)) {
    try {
      const parsed = JSON.parse(body) as ProblemDetails;
      if (typeof parsed.title === "string" && typeof parsed.detail === "string") return parsed;
    } catch {}
  }
  return {
    type: "about:blank",
    title: STATUS_CODES[status] ?? "Error",
    status,
    detail: `the control plane answered ${status} without details`,
  };
}

/** The control plane could not be reached at all (down, refused, timed out). */
export function unreachable(error: unknown): ProblemDetails {
  return {
    type: "about:blank",
    title: "The control plane did not answer",
    status: 503,
    detail: `try again in a moment (${error instanceof Error ? error.message : String(error)})`,
  };
}

export function createControlClient(transport: ControlTransport, options: ClientOptions): ControlClient {
  // Learnt from any answer that carries it (GET /me, sign-up, sign-in); asked for once before a write.
  let csrfToken: string | undefined;
  let askedForCsrf = false;

  async function send<T>(
    method: string,
    path: string,
    body: unknown,
    extra: Record<string, string>,
  ): Promise<ControlResult<T>> {
    if (!path.startsWith("/")) throw new Error(`control paths start with "/": ${path}`);
    const writes = !SAFE_METHODS.has(method);
    // A session that writes needs its CSRF token; a browser without a session has none to send.
    if (writes && options.cookie && csrfToken === undefined && !askedForCsrf) {
      askedForCsrf = true;
      await send("GET", "/me", undefined, {});
    }
    const headers: Record<string, string> = { accept: "application/json", ...extra };
    if (options.cookie) headers.cookie = options.cookie;
    if (options.requestId) headers["x-request-id"] = options.requestId;
    if (writes && csrfToken) headers["x-csrf-token"] = csrfToken;
    if (body !== undefined) headers["content-type"] = "application/json";
    let answer: ControlAnswer;
    try {
      answer = await transport({
        method,
        path,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.clientIp ? { clientIp: options.clientIp } : {}),
      });
    } catch (error) {
      return { ok: false, status: 503, problem: unreachable(error), headers: new Headers() };
    }
    for (const cookie of answer.setCookies) options.onSetCookie(cookie);
    if (answer.status >= 400) {
      const problem = asProblem(answer.status, answer.headers.get("content-type"), answer.body);
      return { ok: false, status: answer.status, problem, headers: answer.headers };
    }
    let data: unknown;
    try {
      data = answer.body ? JSON.parse(answer.body) : undefined;
    } catch {
      const problem = { ...asProblem(502, null, ""), detail: "the control plane answered with something not JSON" };
      return { ok: false, status: 502, problem, headers: answer.headers };
    }
    const token = (data as { csrfToken?: unknown } | undefined)?.csrfToken;
    if (typeof token === "string") csrfToken = token;
    return { ok: true, status: answer.status, data: data as T, headers: answer.headers };
  }

  const request = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    send<T>(method, path, body, headers);
  return {
    request,
    get: (path, headers) => request("GET", path, undefined, headers),
    post: (path, body, headers) => request("POST", path, body ?? {}, headers),
    put: (path, body, headers) => request("PUT", path, body ?? {}, headers),
    patch: (path, body, headers) => request("PATCH", path, body ?? {}, headers),
    delete: (path, headers) => request("DELETE", path, undefined, headers),
  };
}
