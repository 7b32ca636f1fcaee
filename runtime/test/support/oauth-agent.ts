// A headless user agent for the authorization server's pages: it follows redirects by hand with
// a cookie jar, reads the HTML forms the pages serve and submits them, as a browser would. It
// drives the real sign-in and consent pages, so a flow it completes is one a person could.
//
//   const agent = new OAuthAgent();
//   const { callback } = await agent.authorize(authorizationUrl, { email, password });
//   callback.searchParams.get("code")
//
// Each agent comes from a loopback address of its own, so that the server's per-address limits
// (sign-in attempts) count one agent, not the whole test run.
//
// It stops at the first redirect that leaves the authorization server (the client's redirect
// URI) and returns it without following it, unless asked to deliver it (a client listening on
// a loopback callback, such as mcp-remote).

import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface Credentials {
  email: string;
  password: string;
}

interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
  expires: number | undefined;
}

/** Cookies by host and path, as RFC 6265 matches them for the requests a test makes (no domain cookies). */
export class CookieJar {
  readonly #cookies: Cookie[] = [];

  store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const equals = pair.indexOf("=");
      if (equals <= 0) continue;
      const cookie: Cookie = {
        name: pair.slice(0, equals),
        value: pair.slice(equals + 1),
        host: url.host,
        path: defaultPath(url),
        expires: undefined,
      };
      for (const attribute of attributes) {
        const [key = "", value = ""] = attribute.split("=");
        if (key.toLowerCase() === "path" && value.startsWith("/")) cookie.path = value;
        if (key.toLowerCase() === "max-age") cookie.expires = Date.now() + Number(value) * 1000;
        if (key.toLowerCase() === "expires" && cookie.expires === undefined) cookie.expires = Date.parse(value);
      }
      const at = this.#cookies.findIndex(
        (c) => c.name === cookie.name && c.host === cookie.host && c.path === cookie.path,
      );
      if (at >= 0) this.#cookies.splice(at, 1);
      if (cookie.expires === undefined || cookie.expires > Date.now()) this.#cookies.push(cookie);
    }
  }

  header(url: URL): string | undefined {
    const matching = this.#cookies.filter(
      (cookie) =>
        cookie.host === url.host &&
        (url.pathname === cookie.path ||
          url.pathname.startsWith(cookie.path.endsWith("/") ? cookie.path : `${cookie.path}/`)) &&
        (cookie.expires === undefined || cookie.expires > Date.now()),
    );
    return matching.length ? matching.map((cookie) => `${cookie.name}=${cookie.value}`).join("; ") : undefined;
  }

  names(): string[] {
    return this.#cookies.map((cookie) => cookie.name);
  }

  clear(): void {
    this.#cookies.length = 0;
  }
}

function defaultPath(url: URL): string {
  const path = url.pathname;
  return path.lastIndexOf("/") <= 0 ? "/" : path.slice(0, path.lastIndexOf("/"));
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };
const unescapeHtml = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}="([^"]*)"`).exec(tag);
  return match ? unescapeHtml(match[1] as string) : undefined;
}

/** A form of a page: where it posts, and its hidden fields. */
export interface PageForm {
  action: string;
  fields: Record<string, string>;
}

/** The forms of an HTML page (as the authorization server's pages write them). */
export function formsOf(html: string): PageForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, tag = "", body = ""]) => ({
    action: attribute(tag, "action") ?? "",
    fields: Object.fromEntries(
      [...body.matchAll(/<input\b([^>]*)>/g)]
        .map(([input = ""]) => [attribute(input, "name"), attribute(input, "value") ?? ""])
        .filter((entry): entry is [string, string] => entry[0] !== undefined),
    ),
  }));
}

/** An HTTP request from a chosen local address (fetch cannot choose one without undici's Agent). */
function send(
  url: URL,
  options: { method: string; headers: Record<string, string>; body?: string; localAddress: string },
): Promise<{ status: number; headers: Headers; body: string }> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const local = url.hostname === "localhost" || url.hostname.startsWith("127.") ? options.localAddress : undefined;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: options.method,
        headers: options.headers,
        ...(local ? { localAddress: local, family: 4 } : {}),
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", reject);
        incoming.on("end", () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            for (const item of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, item);
          }
          resolve({ status: incoming.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

export interface Step {
  method: string;
  url: string;
  status: number;
  location?: string;
}

export interface PageResponse {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
}

export type ConsentChoice = "allow" | "deny";

export interface AuthorizeOptions {
  /** What to answer on the consent page (default allow). */
  consent?: ConsentChoice;
  /** Fetch the client's redirect URI too (a loopback listener waiting for the code). */
  deliver?: boolean;
  /** Give up after this many requests. */
  maxSteps?: number;
}

export interface AuthorizeResult {
  /** The redirect to the client: its code (or error), state and iss. */
  callback: URL;
  /** Every request made, in order. */
  steps: Step[];
  /** The pages shown (their HTML), in order: what a person would have read. */
  pages: PageResponse[];
}

/** A loopback address of its own (Linux answers on all of 127/8): the server's per-address limits see one browser. */
export function randomLoopbackAddress(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  return `127.${byte()}.${byte()}.${byte()}`;
}

/** A browser without a screen. One agent is one browser: its cookies carry sign-ins across flows. */
export class OAuthAgent {
  readonly jar = new CookieJar();
  /** The address its requests come from (to the server under test, on loopback). */
  readonly localAddress: string;
  readonly #headers: Record<string, string>;

  constructor(options: { headers?: Record<string, string>; localAddress?: string } = {}) {
    this.#headers = options.headers ?? {};
    this.localAddress = options.localAddress ?? randomLoopbackAddress();
  }

  /** One request, redirects not followed; cookies sent and stored. */
  async request(
    method: "GET" | "POST",
    url: URL | string,
    form?: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<PageResponse> {
    const target = new URL(url);
    const cookie = this.jar.header(target);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const response = await send(target, {
      method,
      localAddress: this.localAddress,
      headers: {
        ...this.#headers,
        ...(cookie ? { cookie } : {}),
        ...(form ? { "content-type": "application/x-www-form-urlencoded", origin: target.origin } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body }),
    });
    this.jar.store(target, response.headers.getSetCookie());
    return { url: target, ...response };
  }

  /**
   * Runs an authorization request to its end: follows redirects within the authorization server,
   * signs in on the sign-in page, answers the consent page, and returns the redirect to the client.
   * Throws, naming the page, when a page is neither (an error page) or the flow loops.
   */
  async authorize(
    authorizationUrl: string | URL,
    credentials: Credentials,
    options: AuthorizeOptions = {},
  ): Promise<AuthorizeResult> {
    const start = new URL(authorizationUrl);
    const steps: Step[] = [];
    const pages: PageResponse[] = [];
    let next: { method: "GET" | "POST"; url: URL; form?: Record<string, string> } = { method: "GET", url: start };
    for (let count = 0; count < (options.maxSteps ?? 20); count += 1) {
      const response = await this.request(next.method, next.url, next.form);
      const location = response.headers.get("location") ?? undefined;
      steps.push({
        method: next.method,
        url: next.url.href,
        status: response.status,
        ...(location ? { location } : {}),
      });
      if (response.status >= 300 && response.status < 400 && location) {
        const target = new URL(location, next.url);
        if (target.origin !== start.origin) {
          if (options.deliver) await fetch(target, { redirect: "manual" }).then((r) => r.text());
          return { callback: target, steps, pages };
        }
        next = { method: "GET", url: target };
        continue;
      }
      pages.push(response);
      if (response.status >= 400) {
        throw new Error(
          `the authorization stopped at ${response.url.pathname} (${response.status}): ${pageText(response.body)}`,
        );
      }
      const forms = formsOf(response.body);
      const login = forms.find((form) => form.action.endsWith("/login"));
      if (login) {
        next = {
          method: "POST",
          url: new URL(login.action, response.url),
          form: { ...login.fields, email: credentials.email, password: credentials.password },
        };
        continue;
      }
      const choice = options.consent ?? "allow";
      const consent = forms.find((form) => form.action.endsWith(choice === "allow" ? "/consent" : "/abort"));
      if (consent) {
        next = { method: "POST", url: new URL(consent.action, response.url), form: consent.fields };
        continue;
      }
      throw new Error(
        `the authorization stopped at ${response.url.pathname} (${response.status}): ${pageText(response.body)}`,
      );
    }
    throw new Error(`the authorization did not finish in ${options.maxSteps ?? 20} requests: ${JSON.stringify(steps)}`);
  }
}

/** A page's text without its markup, for error messages and assertions. */
export function pageText(html: string): string {
  return unescapeHtml(
    html
      .replace(/<style[\s\S]*?<\/style>/g, "")
      // Inline elements run into their neighbours, as a browser shows them.
      .replace(/<\/?(code|strong|em|span|a)\b[^>]*>/g, "")
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  );
}
