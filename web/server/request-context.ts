import type { RouterContextProvider, ServerBuild } from "react-router";
import type { ControlClient } from "./control-client.ts";

/** What every loader, action and middleware of the web app gets for the request it serves. */
export interface WebRequestContext {
  control: ControlClient;
  /** Set-Cookie values this response carries: control's (sign-in, sign-out) and the web's own (flash). */
  setCookies: string[];
  /** Whether cookies the web sets must be Secure (PUBLIC_URL is https). */
  secureCookies: boolean;
  /** This response's CSP nonce (csp.ts): the inline scripts the page renders carry it. */
  nonce: string;
  /** The request's own logger (Fastify's, with its reqId): errors of a page are logged with it. */
  log: PageLogger;
}

/** The part of pino's logger a page uses. */
export interface PageLogger {
  error(details: object, message: string): void;
}

/** What the server build (server/entry.ts, bundled by Vite) exports for the Fastify plugin. */
export interface WebServerEntry {
  build: ServerBuild;
  loadContext(web: WebRequestContext): RouterContextProvider;
}
