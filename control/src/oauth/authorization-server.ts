import type { IncomingMessage, ServerResponse } from "node:http";
import type { Bus, Database } from "@isola/schema";
import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import type Provider from "oidc-provider";
import type { SecretKey } from "../secrets/key.ts";
import { announceGrantRevoked } from "./grants.ts";
import { createProvider, type ProviderParts } from "./provider.ts";
import { ensureSigningKey, loadKeySet } from "./signing-keys.ts";

/** Announced on the Bus when signing keys change (a rotation), so that nodes reload at once. */
export const OAUTH_KEYS_CHANNEL = "oauth.keys";

/** How often a node reloads its keys when nothing was announced (a rotation run without the Bus). */
const RELOAD_MS = 60_000;

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface AuthorizationServerOptions {
  db: Kysely<Database>;
  bus: Bus;
  secretKey: SecretKey;
  parts: Omit<ProviderParts, "keys">;
  log: FastifyBaseLogger;
  reloadMs?: number;
}

/**
 * The oidc-provider instance this node serves, rebuilt when its signing keys change: a rotation
 * publishes a key before it signs, and a node must sign with it from that moment on without a
 * restart. Everything else the provider keeps is in the database, so a rebuild loses nothing
 * but caches. Reloads come from a Bus announcement, a timer at the next scheduled change, and
 * a periodic check.
 */
export class AuthorizationServer {
  readonly #options: AuthorizationServerOptions;
  #provider: Provider | undefined;
  #handler: Handler | undefined;
  #fingerprint = "";
  #interval: NodeJS.Timeout | undefined;
  #scheduled: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #reloading: Promise<void> | undefined;
  #closed = false;

  constructor(options: AuthorizationServerOptions) {
    this.#options = options;
  }

  /** Makes the first signing key on a new instance, builds the provider, and starts watching for changes. */
  async start(): Promise<void> {
    const { db, secretKey, bus, log } = this.#options;
    if (await ensureSigningKey(db, secretKey)) log.info("generated the OAuth authorization server's first signing key");
    await this.reload();
    // A node that cannot subscribe (Redis down at start) still picks changes up periodically.
    this.#unsubscribe = await bus
      .subscribe(OAUTH_KEYS_CHANNEL, () => void this.reload().catch(() => {}))
      .catch(() => undefined);
    this.#interval = setInterval(() => void this.reload().catch(() => {}), this.#options.reloadMs ?? RELOAD_MS);
    this.#interval.unref();
  }

  get provider(): Provider {
    if (!this.#provider) throw new Error("the authorization server has not started");
    return this.#provider;
  }

  /** Hands a request (its URL already below the issuer's path) to the provider. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#handler) throw new Error("the authorization server has not started");
    return this.#handler(req, res);
  }

  /** Loads the keys in force; rebuilds the provider when they differ from the ones it signs with. */
  reload(): Promise<void> {
    // One reload at a time; a request for another while one runs joins it.
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reload(): Promise<void> {
    if (this.#closed) return;
    const { db, secretKey, log, parts } = this.#options;
    let keys: Awaited<ReturnType<typeof loadKeySet>>;
    try {
      keys = await loadKeySet(db, secretKey);
    } catch (error) {
      // Keeps serving with the keys it has; the first load's failure stops the start instead.
      if (!this.#provider) throw error;
      log.error({ err: error }, "could not reload the OAuth signing keys; still signing with the previous ones");
      return;
    }
    if (keys.fingerprint !== this.#fingerprint) {
      const provider = createProvider({ ...parts, keys: keys.keys });
      provider.on("server_error", (_ctx, error) => log.error({ err: error }, "OAuth authorization server error"));
      // A refresh token reused or revoked takes its grant with it: runtimes refuse the grant's access tokens at once.
      provider.on("grant.revoked", (_ctx, grantId: string) => void announceGrantRevoked(this.#options.bus, grantId));
      this.#provider = provider;
      this.#handler = provider.callback() as Handler;
      if (this.#fingerprint) log.info({ signing: keys.signing.kid }, "OAuth signing keys changed");
      this.#fingerprint = keys.fingerprint;
    }
    clearTimeout(this.#scheduled);
    if (keys.nextChangeAt) {
      // setTimeout holds at most ~24.8 days; the periodic check covers anything later.
      const delay = Math.min(keys.nextChangeAt.getTime() - Date.now() + 50, 2 ** 31 - 1);
      this.#scheduled = setTimeout(() => void this.reload().catch(() => {}), Math.max(0, delay));
      this.#scheduled.unref();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#interval);
    clearTimeout(this.#scheduled);
    await this.#reloading?.catch(() => {});
    await this.#unsubscribe?.().catch(() => {});
  }
}
