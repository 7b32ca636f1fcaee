import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { OAuthClientMemory } from "../../support/oauth-client-memory.ts";

export interface BrowserOAuthClientOptions {
  clientName: string;
  /** Hands the authorization URL to the browser. */
  open(url: URL): Promise<unknown>;
}

export class BrowserOAuthClient extends OAuthClientMemory implements OAuthClientProvider {
  /** Every authorization URL the SDK sent the browser to, in order. */
  readonly authorizations: URL[] = [];
  readonly #options: BrowserOAuthClientOptions;
  readonly #server: Server;
  readonly #redirectUrl: string;
  /** Returns the browser brought that no one has taken yet, and whoever waits for the next one. */
  readonly #received: URL[] = [];
  #waiting: ((url: URL) => void) | undefined;

  private constructor(options: BrowserOAuthClientOptions, server: Server) {
    super();
    this.#options = options;
    this.#server = server;
    this.#redirectUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    server.on("request", (request, response) => {
      const url = new URL(request.url ?? "/", this.#redirectUrl);
      if (url.pathname !== "/callback") return response.writeHead(404).end();
      response
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end("<!doctype html><title>Back in the app</title><h1>You can close this window.</h1>");
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting) waiting(url);
      else this.#received.push(url);
    });
  }

  /** A client with its loopback redirect URI listening. */
  static async start(options: BrowserOAuthClientOptions): Promise<BrowserOAuthClient> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new BrowserOAuthClient(options, server);
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#options.clientName,
      redirect_uris: [this.#redirectUrl],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    };
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations.push(url);
    await this.#options.open(url);
  }

  /** The next return of the browser to the redirect URI; fails after `timeoutMs` saying `waitingFor`. */
  nextCallback(waitingFor: string, timeoutMs = 10_000): Promise<URL> {
    const ready = this.#received.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#waiting) return Promise.reject(new Error("already waiting for a callback"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(
          new Error(`the browser did not come back to ${this.#redirectUrl} within ${timeoutMs} ms (${waitingFor})`),
        );
      }, timeoutMs);
      this.#waiting = (url) => {
        clearTimeout(timer);
        resolve(url);
      };
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
