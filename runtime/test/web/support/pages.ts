import type { FastifyInstance } from "fastify";

export interface Page {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  location: string | undefined;
  setCookies: string[];
}

/**
 * A browser without a browser, for HTTP-level tests of the web app: a cookie jar over
 * app.inject, forms sent as a browser sends them (url-encoded, with this site's Origin).
 */
export class PageClient {
  readonly cookies = new Map<string, string>();
  readonly app: FastifyInstance;
  readonly origin: string;
  constructor(app: FastifyInstance, origin: string) {
    this.app = app;
    this.origin = origin;
  }

  async request(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<Page> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const response = await this.app.inject({
      method: method as "GET",
      url,
      headers: { host: new URL(this.origin).host, ...(cookie ? { cookie } : {}), ...headers },
      ...(body === undefined ? {} : { payload: body }),
    });
    const raw = response.headers["set-cookie"];
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = response.headers.location;
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      location: typeof location === "string" ? location : undefined,
      setCookies,
    };
  }

  get(url: string, headers?: Record<string, string>) {
    return this.request("GET", url, undefined, headers);
  }

  /** A form post from a page of this site; `origin: null` sends none (as old browsers did). */
  post(url: string, fields: Record<string, string>, { origin = this.origin }: { origin?: string | null } = {}) {
    return this.request("POST", url, new URLSearchParams(fields).toString(), {
      "content-type": "application/x-www-form-urlencoded",
      ...(origin === null ? {} : { origin }),
    });
  }
}
