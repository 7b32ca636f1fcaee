import { request } from "node:https";
import { isIP } from "node:net";
import { Readable } from "node:stream";

// How the authorization server fetches Client ID Metadata Documents. oidc-provider passes its
// own SSRF-protected dispatcher (special-use addresses refused after DNS), a 2.5 s timeout and a
// 5 KB body limit; by default that is all it does. The operator switch for tests lets loopback
// URLs through (a test serves its client's document on 127.0.0.1 with a certificate of its own),
// and nothing else.

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Whether `hostname` (as URL.hostname writes it) is this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/** GET over https to a loopback address, its certificate not checked (only a local process can answer there). */
function fetchLoopback(url: URL, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const outgoing = request(
      url,
      { method: "GET", headers, rejectUnauthorized: false, ...(init.signal ? { signal: init.signal } : {}) },
      (incoming) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const item of Array.isArray(value) ? value : [value ?? ""]) responseHeaders.append(name, item);
        }
        const status = incoming.statusCode ?? 502;
        const body = status === 204 || status === 304 ? null : (Readable.toWeb(incoming) as ReadableStream);
        resolve(new Response(body, { status, headers: responseHeaders }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** The `fetch` oidc-provider uses for metadata documents. */
export function metadataFetch(options: { allowLoopback: boolean }): Fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (options.allowLoopback && url.protocol === "https:" && isLoopbackHost(url.hostname)) {
      return fetchLoopback(url, init);
    }
    return globalThis.fetch(url, init);
  };
}
