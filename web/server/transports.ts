import type { FastifyInstance } from "fastify";
import type { ControlAnswer, ControlTransport } from "./control-client.ts";

const API = "/api/v1";

function setCookiesOf(value: string | string[] | number | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [String(value)];
}

/**
 * The control role mounted in this very process: through Fastify's inject (the whole HTTP stack,
 * no socket). The browser's address is passed on, so control's per-address limits see it.
 */
export function injectTransport(app: FastifyInstance): ControlTransport {
  return async (request) => {
    const response = await app.inject({
      method: request.method as "GET",
      url: `${API}${request.path}`,
      headers: request.headers,
      ...(request.body === undefined ? {} : { payload: request.body }),
      ...(request.clientIp ? { remoteAddress: request.clientIp } : {}),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || name === "set-cookie") continue;
      headers.set(name, Array.isArray(value) ? value.join(", ") : String(value));
    }
    return {
      status: response.statusCode,
      headers,
      setCookies: setCookiesOf(response.headers["set-cookie"]),
      body: response.body,
    } satisfies ControlAnswer;
  };
}

/**
 * A control plane elsewhere (ISOLA_CONTROL_URL). The browser's address goes in X-Forwarded-For;
 * control honours it only if it trusts this node as a proxy.
 */
export function fetchTransport(baseUrl: string, fetchImpl: typeof fetch = fetch, timeoutMs = 15_000): ControlTransport {
  const base = baseUrl.replace(/\/+$/, "");
  return async (request) => {
    const response = await fetchImpl(`${base}${API}${request.path}`, {
      method: request.method,
      headers: { ...request.headers, ...(request.clientIp ? { "x-forwarded-for": request.clientIp } : {}) },
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      status: response.status,
      headers: response.headers,
      setCookies: response.headers.getSetCookie(),
      body: await response.text(),
    };
  };
}
