import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import { type AuthorizeResult, type ConsentChoice, type Credentials, OAuthAgent } from "./oauth-agent.ts";
import { OAuthClientMemory } from "./oauth-client-memory.ts";

export interface SdkOAuthProviderOptions {
  /** Who signs in and consents. */
  person: Credentials;
  /** The browser (default a new one: not signed in). */
  agent?: OAuthAgent;
  clientName?: string;
  /** A Client ID Metadata Document's URL: the client_id, instead of registering. */
  clientMetadataUrl?: string;
  /** What the person answers on the consent page (default allow). */
  consent?: ConsentChoice;
}

/** One trip through the authorization server, as the SDK started it. */
export interface Authorization {
  /** What the SDK sent the browser to. */
  url: URL;
  /** Where the browser was sent back to (the listener received it). */
  callback: URL;
  /** The pages the person was shown. */
  pages: AuthorizeResult["pages"];
}

/** The client's loopback redirect URI: a listener that takes the browser's return. */
async function listenForCallbacks(received: URL[]): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", `http://${request.headers.host}`);
    if (url.pathname !== "/callback") return response.writeHead(404).end();
    received.push(url);
    response.writeHead(200, { "content-type": "text/plain" }).end("You may close this window.");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/callback`, server };
}

export class SdkOAuthProvider extends OAuthClientMemory implements OAuthClientProvider {
  readonly agent: OAuthAgent;
  readonly clientMetadataUrl: string | undefined;
  /** Every authorization the SDK asked for, in order. */
  readonly authorizations: Authorization[] = [];
  readonly #options: SdkOAuthProviderOptions;
  readonly #redirectUrl: string;
  readonly #server: Server;
  readonly #received: URL[];
  #code: string | undefined;

  private constructor(options: SdkOAuthProviderOptions, listener: { url: string; server: Server }, received: URL[]) {
    super();
    this.#options = options;
    this.agent = options.agent ?? new OAuthAgent();
    this.clientMetadataUrl = options.clientMetadataUrl;
    this.#redirectUrl = listener.url;
    this.#server = listener.server;
    this.#received = received;
  }

  /** A provider with its loopback listener open (its port is in the redirect URI). */
  static async start(options: SdkOAuthProviderOptions): Promise<SdkOAuthProvider> {
    const received: URL[] = [];
    return new SdkOAuthProvider(options, await listenForCallbacks(received), received);
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#options.clientName ?? "SDK Test Client",
      redirect_uris: [this.#redirectUrl],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    };
  }

  /** The person's browser goes through sign-in and consent; the listener receives the return. */
  async redirectToAuthorization(url: URL): Promise<void> {
    const before = this.#received.length;
    const result = await this.agent.authorize(url, this.#options.person, {
      deliver: true,
      ...(this.#options.consent ? { consent: this.#options.consent } : {}),
    });
    const callback = this.#received[before];
    if (!callback || callback.href !== result.callback.href) {
      throw new Error(`the listener did not receive ${result.callback.href}`);
    }
    // A callback whose state is not the one just sent belongs to another flow: a real client drops it.
    if (callback.searchParams.get("state") !== this.lastState) {
      throw new Error(`the callback's state does not match: ${callback.href}`);
    }
    this.authorizations.push({ url, callback, pages: result.pages });
    this.#code = callback.searchParams.get("code") ?? undefined;
  }

  /** The code of the last authorization, once (what the callback handler hands to `finishAuth`). */
  takeCode(): string {
    const code = this.#code;
    this.#code = undefined;
    if (!code) throw new Error(`no authorization code: ${this.authorizations.at(-1)?.callback.href ?? "no callback"}`);
    return code;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
