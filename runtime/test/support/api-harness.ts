import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { type Config, migrateToLatest, parseConfig } from "@isola/schema";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { type Logger, pino } from "pino";
import { composeRoles } from "../../src/compose.ts";
import { buildApp } from "../../src/http/app.ts";
import type { Composition } from "../../src/process/start.ts";
import { MemoryBus } from "../../src/stores/memory-bus.ts";
import type { Stores } from "../../src/stores/open-stores.ts";
import { type DatabaseBackend, databaseBackends } from "./backends.ts";
import { freePort } from "./redis-server.ts";

export const HELLO_SOURCE = readFileSync(new URL("../../../examples/hello/index.ts", import.meta.url), "utf8");

export interface Response<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: T;
}

/** A caller of the API: a token, a browser session (cookie + CSRF), or nobody. */
export class Client {
  readonly app: FastifyInstance;
  readonly headers: Record<string, string>;
  constructor(app: FastifyInstance, headers: Record<string, string> = {}) {
    this.app = app;
    this.headers = headers;
  }

  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  async request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response<T>> {
    const response = await this.app.inject({
      method: method as "GET",
      url: url.startsWith("/") ? url : `/api/v1/${url}`,
      headers: { ...this.headers, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { payload: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = response.body;
    return { status: response.statusCode, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  get = <T = any>(url: string, headers?: Record<string, string>) => this.request<T>("GET", url, undefined, headers);
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  post = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("POST", url, body ?? {}, headers);
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  put = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("PUT", url, body ?? {}, headers);
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  patch = <T = any>(url: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>("PATCH", url, body ?? {}, headers);
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  delete = <T = any>(url: string, headers?: Record<string, string>) =>
    this.request<T>("DELETE", url, undefined, headers);
}

export interface Api {
  app: FastifyInstance;
  /** The base URL when started with `listen` (PUBLIC_URL is set to it); else the configured PUBLIC_URL. */
  url: string;
  config: Config;
  stores: Stores;
  /** The bootstrapped owner's token client. */
  admin: Client;
  adminToken: string;
  anonymous: Client;
  /** Every log line the app wrote (JSON), for tests that check what must never be logged. */
  logs: string[];
  /** Signs up a new account; returns a session client (cookie + CSRF) and the account's org slug. */
  signup(email?: string, password?: string): Promise<{ session: Client; org: string; email: string }>;
  /** A token client for an account (created through the API by its session). */
  tokenFor(session: Client, org?: string): Promise<Client>;
  close(): Promise<void>;
}

/**
 * The composed app (the same composition root as `isola start`) on a fresh database, the
 * in-process bus, one sandbox shard, a bootstrapped owner with a token. Requests go through
 * app.inject: the whole HTTP stack without a socket.
 */
export interface ApiOptions {
  /** Listen on a free port of 127.0.0.1 (for real HTTP clients); PUBLIC_URL becomes http://localhost:PORT. */
  listen?: boolean;
  /** Extra plugins, for boundaries a test plays itself (e.g. an OAuth issuer's JWKS). */
  plugins?: FastifyPluginAsync[];
}

export async function startApi(
  backend: DatabaseBackend = databaseBackends()[0] as DatabaseBackend,
  env: Record<string, string> = {},
  options: ApiOptions = {},
): Promise<Api> {
  const adminToken = `isola_pat_${randomBytes(24).toString("base64url")}`;
  const port = options.listen ? await freePort() : undefined;
  const parsed = parseConfig({
    PUBLIC_URL: port ? `http://localhost:${port}` : "https://isola.test",
    ISOLA_SANDBOX_SHARDS: "1",
    ISOLA_ADMIN_EMAIL: "owner@example.com",
    ISOLA_ADMIN_TOKEN: adminToken,
    // A key of its own: otherwise the embedded default would write one into ./.isola.
    ISOLA_SECRET_KEY: randomBytes(32).toString("base64"),
    ...env,
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const config = parsed.config;
  const database = await backend.open();
  await migrateToLatest(database.db);
  const bus = new MemoryBus();
  const stores: Stores = {
    db: database.db,
    dbKind: database.kind,
    bus,
    close: async () => {
      await bus.close();
      await database.close();
    },
  };
  const logs: string[] = [];
  const logger: Logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  let composition: Composition | undefined;
  try {
    composition = await composeRoles(config, stores, logger);
    const app = await buildApp({
      stores,
      logger,
      plugins: [...(options.plugins ?? []), ...composition.plugins],
      readiness: composition.readiness,
      urlErrors: composition.urlErrors,
      metrics: composition.metrics,
      trustProxy: config.trustProxy,
    });
    if (port) await app.listen({ port, host: "127.0.0.1" });
    else await app.ready();
    const admin = new Client(app, { authorization: `Bearer ${adminToken}` });
    const anonymous = new Client(app);
    const api: Api = {
      app,
      url: config.publicUrl,
      config,
      stores,
      admin,
      adminToken,
      anonymous,
      logs,
      async signup(email = `user-${randomBytes(4).toString("hex")}@example.com`, password = "correct horse battery") {
        const response = await anonymous.post("auth/signup", { email, password });
        if (response.status !== 201) throw new Error(`signup failed: ${JSON.stringify(response.body)}`);
        const cookie = String(response.headers["set-cookie"]).split(";")[0] as string;
        const session = new Client(app, { cookie, "x-csrf-token": response.body.csrfToken });
        return { session, org: response.body.orgs[0].slug, email };
      },
      async tokenFor(session, org) {
        const response = await session.post("me/tokens", {
          name: `test-${randomBytes(3).toString("hex")}`,
          ...(org ? { org } : {}),
        });
        if (response.status !== 201) throw new Error(`token failed: ${JSON.stringify(response.body)}`);
        return new Client(app, { authorization: `Bearer ${response.body.token}` });
      },
      async close() {
        await app.close();
        await composition?.close();
        await stores.close();
      },
    };
    return api;
  } catch (error) {
    await composition?.close();
    await stores.close();
    throw error;
  }
}

/** Creates a server and deploys the hello example to it; returns its slug. */
export async function deployHello(client: Client, slug: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await client.post("servers", { slug, name: slug, authMode: "public", ...extra });
  if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  const version = await client.post(`servers/${slug}/versions`, { source: HELLO_SOURCE });
  if (version.status !== 201) throw new Error(`version failed: ${JSON.stringify(version.body)}`);
  const deployed = await client.post(`servers/${slug}/deploy`, { version: version.body.number });
  if (deployed.status !== 200) throw new Error(`deploy failed: ${JSON.stringify(deployed.body)}`);
  return slug;
}
