import type { IncomingMessage } from "node:http";
import { BASE_SCOPE } from "@isola/schema";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ControlDeps } from "../deps.ts";
import { sweepExpired } from "./adapter.ts";
import { AuthorizationServer } from "./authorization-server.ts";
import { readClientsFile } from "./clients-file.ts";
import { deriveKey } from "./derived-keys.ts";
import { provideInteractions } from "./interaction-routes.ts";
import { interactions } from "./interactions.ts";
import { sweepExpiredKeys } from "./signing-keys.ts";

/** Client registrations per address: a client registers once per install. */
const REGISTRATION_BUCKET = { capacity: 20, refillPerSecond: 20 / 3600 };
/** Client ID Metadata Document fetches per address (each may make the server fetch a URL). */
const METADATA_FETCH_BUCKET = { capacity: 30, refillPerSecond: 30 / 600 };

const SWEEP_MS = 10 * 60_000;

/** Below the issuer: the interaction pages (provider.ts's interactionPath), which the web role serves. */
const INTERACTION_PREFIX = "/interaction/";

/**
 * An authorization request without a scope asks for `mcp:tools`: a token without it opens no
 * server, and clients that follow the spec send the scopes of the server's challenge anyway.
 */
export function withDefaultScope(query: string): string {
  const params = new URLSearchParams(query);
  if (params.get("scope")?.trim()) return query;
  params.set("scope", BASE_SCOPE);
  return `?${params}`;
}

export interface OAuthPluginOptions {
  /** How often a node reloads its signing keys when no rotation was announced. */
  keyReloadMs?: number;
}

/**
 * The OAuth 2.1 authorization server (oidc-provider) at `${PUBLIC_URL}/oauth`: its endpoints,
 * its metadata also at the RFC 8414 path-inserted URLs, and the sign-in and consent steps the
 * web app's pages at /oauth/interaction/* take (through the API, interaction-routes.ts).
 * Mounted by the control role next to the REST API; its state is in the database, so every
 * control node serves every request.
 */
export function oauthPlugin(deps: ControlDeps, options: OAuthPluginOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const { config, db, bus } = deps;
    const publicUrl = new URL(config.publicUrl);
    const issuer = `${config.publicUrl}/oauth`;
    const urls = { publicUrl: config.publicUrl, mcpDomain: config.mcpDomain };
    // A bad ISOLA_OAUTH_CLIENTS_FILE stops the start here, with one line naming the problem.
    const clients = await readClientsFile(config.oauthClientsFile);

    const limited = async (key: string, bucket: typeof REGISTRATION_BUCKET) => {
      // A limit is a defence, not a dependency: with the Bus down, requests go on.
      const taken = await bus.takeTokens(key, bucket).catch(() => ({ allowed: true, retryAfterMs: 0 }));
      return taken.allowed ? null : Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    };

    const server = new AuthorizationServer({
      db,
      bus,
      secretKey: deps.secretKey,
      log: app.log,
      ...(options.keyReloadMs ? { reloadMs: options.keyReloadMs } : {}),
      parts: {
        db,
        issuer,
        urls,
        cookieKeys: [deriveKey(deps.secretKey, "cookies").toString("base64url")],
        clients,
        allowLoopbackMetadata: config.oauthCimdAllowLoopback,
        mayFetchMetadata: async (ip) => (await limited(`oauth:cimd:ip:${ip}`, METADATA_FETCH_BUCKET)) === null,
      },
    });
    await server.start();
    const sweeper = setInterval(() => {
      void sweepExpired(db).catch((error) => app.log.warn({ err: error }, "could not sweep expired OAuth rows"));
      void sweepExpiredKeys(db).catch(() => {});
    }, SWEEP_MS);
    sweeper.unref();
    app.addHook("onClose", async () => {
      clearInterval(sweeper);
      await server.close();
    });

    /**
     * The provider builds every URL it publishes from the request: it sees PUBLIC_URL's scheme and
     * host whatever the request came through (a TLS proxy, 127.0.0.1), and Fastify's view of the
     * client's address (which honours trustProxy) rather than a header the client may have sent.
     */
    const asPublic = (request: FastifyRequest) => {
      const headers = request.raw.headers;
      headers["x-forwarded-proto"] = publicUrl.protocol.slice(0, -1);
      headers["x-forwarded-host"] = publicUrl.host;
      headers["x-forwarded-for"] = request.ip;
    };

    /** Hands the request to the provider as if it were mounted at /oauth, serving `path`. */
    const handOver = async (request: FastifyRequest, reply: FastifyReply, path: string) => {
      const raw = request.raw as IncomingMessage & { originalUrl?: string };
      const url = raw.url ?? "/";
      let query = url.includes("?") ? url.slice(url.indexOf("?")) : "";
      if (path === "/auth" && request.method === "GET") query = withDefaultScope(query);
      asPublic(request);
      raw.originalUrl = `/oauth${path}${query}`;
      raw.url = `${path}${query}`;
      reply.hijack();
      await server.handle(raw, reply.raw);
    };

    await app.register(async (scope: FastifyInstance) => {
      // The provider reads request bodies itself: Fastify must leave the stream alone.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", (_request, _payload, done) => done(null));
      scope.addHook("onRequest", async (request, reply) => {
        if (request.method !== "POST" || request.url.split("?")[0] !== "/oauth/reg") return;
        const retryAfter = await limited(`oauth:register:ip:${request.ip}`, REGISTRATION_BUCKET);
        if (retryAfter === null) return;
        return reply
          .code(429)
          .header("retry-after", String(retryAfter))
          .header("cache-control", "no-store")
          .send({
            error: "too_many_requests",
            error_description: `too many client registrations from this address; retry in ${retryAfter} s`,
          });
      });
      const methods = ["GET", "POST", "OPTIONS"];
      scope.route({
        method: methods,
        url: "/oauth/*",
        logLevel: "warn",
        handler: (request, reply) => {
          const path = (request.raw.url ?? "").split("?")[0]?.slice(6) || "/";
          // The sign-in and consent pages are the web app's: on to whoever answers unrouted URLs.
          if (path.startsWith(INTERACTION_PREFIX)) return reply.callNotFound();
          return handOver(request, reply, path);
        },
      });
      scope.route({ method: methods, url: "/oauth", handler: (request, reply) => handOver(request, reply, "/") });
      // RFC 8414 §3.1: the metadata of an issuer with a path, path-inserted; and OpenID's twin.
      for (const document of ["oauth-authorization-server", "openid-configuration"]) {
        scope.route({
          method: ["GET", "OPTIONS"],
          url: `/.well-known/${document}/oauth`,
          handler: (request, reply) => handOver(request, reply, `/.well-known/${document}`),
        });
      }
    });

    // The sign-in and consent steps, for the API's /oauth/interactions (the web app shows the pages).
    provideInteractions(
      deps,
      interactions({ server, db, bus, formKey: deriveKey(deps.secretKey, "forms"), issuer, urls, asPublic }),
    );
  };
}
