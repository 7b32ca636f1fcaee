// A valid request for every operation of /api/v1, for the RBAC matrix and the bad-input table:
// each builder makes what its request needs (a fresh server to delete, a member to demote...)
// so that an allowed caller's request succeeds. A route the OpenAPI document lists without a
// builder here fails both suites.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createSecretRequest } from "@isola/control/mcp-server";
import type { Manifest, OrgRole } from "@isola/schema";
import type { Api, Client } from "../support/api-harness.ts";
import { deployHello, HELLO_SOURCE } from "../support/api-harness.ts";
import { storeGrant } from "../support/grants.ts";
import { consentInteraction, loginInteraction } from "../support/oauth-interaction-fixture.ts";
import { adminOrg, memberOf, newOrg, type Person } from "./orgs-people.ts";

export const PASSWORD = "correct horse battery staple";

/** Someone calling the API. */
export interface Caller {
  name: string;
  /** Headers that authenticate; a session caller gets a fresh session each time, so signing out ends only that one. */
  headers(): Promise<Record<string, string>>;
  /** The account behind it, if any. */
  userId?: string;
  email?: string;
  /** The org its token is for. */
  org?: string;
}

export interface RouteRequest {
  /** Below /api/v1, with the query. */
  url: string;
  /** JSON, or a string sent as it is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sign-up and sign-in are rate-limited per address: each gets its own. */
  remoteAddress?: string;
}

export interface Sent {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  body: any;
}

export async function send(api: Api, method: string, request: RouteRequest, auth: Record<string, string>) {
  const raw = typeof request.body === "string";
  const response = await api.app.inject({
    method: method as "GET",
    url: `/api/v1/${request.url}`,
    headers: {
      ...auth,
      ...(request.body === undefined ? {} : { "content-type": "application/json" }),
      ...request.headers,
    },
    ...(request.body === undefined ? {} : { payload: raw ? (request.body as string) : JSON.stringify(request.body) }),
    ...(request.remoteAddress ? { remoteAddress: request.remoteAddress } : {}),
  });
  let body: unknown = response.body;
  try {
    body = response.body ? JSON.parse(response.body) : undefined;
  } catch {
    // not JSON: keep the text, the assertion will show it
  }
  return { status: response.statusCode, headers: response.headers, body } as Sent;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/** Org A (the bootstrapped owner's org) and the fixtures the builders make in it. */
export class World {
  readonly api: Api;
  /** The org every role caller belongs to. */
  readonly org: string;
  /** A live server (hello, version 1) that builders share when their request changes nothing that matters. */
  readonly shared: string;
  /** The bootstrapped owner: prepares fixtures through the API. */
  readonly admin: Client;
  private readonly template: TemplateVersion;
  private readonly passwordHash: string;
  private count = 0;

  private constructor(api: Api, org: string, shared: string, template: TemplateVersion, passwordHash: string) {
    this.api = api;
    this.org = org;
    this.shared = shared;
    this.admin = api.admin;
    this.template = template;
    this.passwordHash = passwordHash;
  }

  static async create(api: Api): Promise<World> {
    const org = await adminOrg(api);
    // The builders make a server or two per call: more than the default plan's 50.
    const db = api.stores.db;
    await db
      .insertInto("plans")
      .values({
        id: "fixtures",
        name: "Fixtures",
        max_servers: 100_000,
        calls_per_month: 1,
        memory_mb: 64,
        rate_limit_per_minute: 1,
      })
      .execute();
    await db.updateTable("orgs").set({ plan_id: "fixtures" }).where("slug", "=", org).execute();
    const shared = await deployHello(api.admin, "shared-hello");
    const template = await db
      .selectFrom("server_versions as v")
      .innerJoin("servers as s", "s.id", "v.server_id")
      .select(["v.bundle", "v.manifest", "v.hash", "v.compiler_version"])
      .where("s.slug", "=", shared)
      .executeTakeFirstOrThrow();
    // One sign-up through the API gives a password hash that fresh accounts can share.
    const email = `template-${randomBytes(3).toString("hex")}@example.com`;
    const signup = await send(api, "POST", { url: "auth/signup", body: { email, password: PASSWORD } }, {});
    if (signup.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(signup.body)}`);
    const user = await db
      .selectFrom("users")
      .select("password_hash")
      .where("email", "=", email)
      .executeTakeFirstOrThrow();
    return new World(api, org, shared, template, user.password_hash as string);
  }

  /** A name no other fixture has: lowercase, a valid server slug. */
  unique(prefix: string): string {
    this.count += 1;
    return `${prefix}-${this.count}`;
  }

  /** A client address of its own (sign-up and sign-in are limited per address). */
  address(): string {
    this.count += 1;
    return `10.9.${Math.floor(this.count / 250)}.${(this.count % 250) + 1}`;
  }

  /**
   * Headers of a new browser session of `userId`: with its CSRF token, without one, or with the
   * token of another session of the same account; `expired` makes one that has run out.
   */
  async session(
    userId: string,
    { csrf = "own", expired = false }: { csrf?: "own" | "none" | "other"; expired?: boolean } = {},
  ): Promise<Record<string, string>> {
    const cookie = randomBytes(32).toString("base64url");
    const token = randomBytes(24).toString("base64url");
    const expires = new Date(Date.now() + (expired ? -60_000 : 3_600_000));
    await this.api.stores.db
      .insertInto("sessions")
      .values({ id: sha256(cookie), user_id: userId, csrf_token: token, expires_at: expires })
      .execute();
    const headers: Record<string, string> = { cookie: `isola_session=${cookie}` };
    if (csrf === "own") headers["x-csrf-token"] = token;
    if (csrf === "other") headers["x-csrf-token"] = (await this.session(userId))["x-csrf-token"] as string;
    return headers;
  }

  /**
   * A server of org A in a given state. Versions are copies of the shared server's compiled
   * version (compiling each would take seconds); version 1 declares the hosts in `declares`.
   */
  async server(
    state: "draft" | "versioned" | "live" | "paused" | "two-live",
    options: { declares?: string[]; approves?: string[] } = {},
  ): Promise<string> {
    const slug = this.unique("srv");
    const created = { slug, name: slug, authMode: "public", egressApproved: options.approves ?? [] };
    await this.ok(this.admin.post("servers", created), 201);
    if (state === "draft") return slug;
    await this.addVersion(slug, 1, options.declares);
    if (state === "versioned") return slug;
    await this.ok(this.admin.post(`servers/${slug}/deploy`, { version: 1 }), 200);
    if (state === "paused") await this.ok(this.admin.post(`servers/${slug}/pause`), 200);
    if (state === "two-live") {
      await this.addVersion(slug, 2);
      await this.ok(this.admin.post(`servers/${slug}/deploy`, { version: 2 }), 200);
    }
    return slug;
  }

  async addVersion(slug: string, number: number, egress: string[] = []): Promise<void> {
    const db = this.api.stores.db;
    const server = await db.selectFrom("servers").select("id").where("slug", "=", slug).executeTakeFirstOrThrow();
    const manifest: Manifest = { ...this.template.manifest, egress };
    await db
      .insertInto("server_versions")
      .values({
        server_id: server.id,
        number,
        source: JSON.stringify({ "index.ts": HELLO_SOURCE }),
        bundle: this.template.bundle,
        manifest: JSON.stringify(manifest),
        hash: this.template.hash,
        compiler_version: this.template.compiler_version,
        build_log: JSON.stringify([]),
      })
      .execute();
  }

  /** The ETag a read of the server gives now. */
  async etag(slug: string): Promise<string> {
    return this.etagAt(`servers/${slug}`);
  }

  /** The ETag the owner's read of `url` gives now (every update sends it as If-Match). */
  async etagAt(url: string): Promise<string> {
    const etag = (await this.ok(this.admin.get(url), 200)).headers.etag;
    if (typeof etag !== "string") throw new Error(`GET ${url} answered no ETag`);
    return etag;
  }

  async secret(slug: string): Promise<string> {
    const name = `S_${this.unique("x").replace("-", "_").toUpperCase()}`;
    await this.ok(this.admin.put(`servers/${slug}/secrets/${name}`, { value: "fixture value" }), 200);
    return name;
  }

  async apiKey(slug: string): Promise<string> {
    return (await this.ok(this.admin.post(`servers/${slug}/keys`, { name: this.unique("key") }), 201)).body.id;
  }

  async invitation(): Promise<string> {
    const email = `${this.unique("invitee")}@example.com`;
    return (await this.ok(this.admin.post(`orgs/${this.org}/invitations`, { email, role: "member" }), 201)).body.id;
  }

  /** The token of an invitation for `email` to a new org of its own (so that accepting it works once per caller). */
  async invitationFor(email: string): Promise<{ token: string; org: string; owner: Person }> {
    const { slug, owner } = await newOrg(this.api, this.unique("org"));
    const created = await this.ok(owner.session.post(`orgs/${slug}/invitations`, { email, role: "member" }), 201);
    const link = String(created.body.link);
    return { token: link.slice(link.lastIndexOf("/") + 1), org: slug, owner };
  }

  member(role: OrgRole): Promise<Person> {
    return memberOf(this.api, this.org, role);
  }

  /** A personal access token of `userId` in `org`, made in the database (not used to call). */
  async tokenOf(userId: string, org: string): Promise<string> {
    const db = this.api.stores.db;
    const { id: orgId } = await db.selectFrom("orgs").select("id").where("slug", "=", org).executeTakeFirstOrThrow();
    const row = await db
      .insertInto("personal_access_tokens")
      .values({
        user_id: userId,
        org_id: orgId,
        name: this.unique("spare"),
        token_hash: sha256(randomUUID()),
        prefix: "isola_pat_xx",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** An OAuth grant `userId` gave a client, made in the authorization server's table; its id. */
  grantOf(userId: string): Promise<string> {
    return storeGrant(this.api.stores.db, {
      accountId: userId,
      resources: { "https://isola.test/grant-fixture/mcp": "mcp:tools" },
    });
  }

  /** A build in org A, made in its table: queued, waiting with PLAN_FIXTURE (for a new server `slug`), or succeeded; its id. */
  async build(status: "queued" | "waiting" | "succeeded", slug?: string): Promise<string> {
    const db = this.api.stores.db;
    const org = await db.selectFrom("orgs").select("id").where("slug", "=", this.org).executeTakeFirstOrThrow();
    const row = await db
      .insertInto("builds")
      .values({
        org_id: org.id,
        kind: "new",
        slug: slug ?? this.unique("built"),
        prompt: "a fixture build",
        status,
        auth_mode: "public",
        auto_deploy: true,
        max_rounds: 3,
        plan: status === "queued" ? null : JSON.stringify(PLAN_FIXTURE),
        ...(status === "succeeded" ? { finished_at: new Date() } : {}),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** The token of a pending password reset link of a new account (made in its table). */
  async passwordReset(): Promise<string> {
    const db = this.api.stores.db;
    const email = await this.account();
    const user = await db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirstOrThrow();
    const token = `isola_reset_${randomBytes(32).toString("base64url")}`;
    await db
      .insertInto("password_resets")
      .values({ user_id: user.id, token_hash: sha256(token), expires_at: new Date(Date.now() + 1_800_000) })
      .execute();
    return token;
  }

  /** The email of a new account whose password is PASSWORD. */
  async account(): Promise<string> {
    const email = `${this.unique("account")}@example.com`;
    await this.api.stores.db.insertInto("users").values({ email, password_hash: this.passwordHash }).execute();
    return email;
  }

  /** The response, if it has `status` (a fixture that fails stops the test). */
  async ok(response: Promise<Sent>, status: number): Promise<Sent> {
    const done = await response;
    if (done.status !== status) throw new Error(`fixture failed (${done.status}): ${JSON.stringify(done.body)}`);
    return done;
  }
}

type TemplateVersion = { bundle: string; manifest: Manifest; hash: string; compiler_version: string };

export type Builder = (world: World, caller: Caller) => Promise<RouteRequest>;

/** What the API tests start with: builds are accepted (a model key is set) and only queued (no worker role runs them). */
export const BUILDS_QUEUE_ONLY = { ANTHROPIC_API_KEY: "sk-ant-fixture", ISOLA_ROLES: "runtime,control" };

/** A build's plan, as the model would propose it: one tool, one host, no secrets. */
export const PLAN_FIXTURE = {
  summary: "Says hello.",
  server: { name: "Fixture", description: "A fixture" },
  tools: [{ name: "hello", description: "Says hello", params: [], safeToCall: true }],
  resources: [],
  prompts: [],
  secrets: [],
  egress: ["api.example.com"],
  questions: [],
};

/** A secret request of Isola's MCP server, open for the caller (a random id for a caller with no account). */
async function secretRequestFor(w: World, caller: Caller): Promise<string> {
  if (!caller.userId) return randomBytes(16).toString("base64url");
  const fields = [{ name: "SOME_TOKEN", required: true }];
  return (await createSecretRequest(w.api.stores.bus, { userId: caller.userId, fields, message: "m" })).id;
}

const at =
  (url: string): Builder =>
  async () => ({ url });

/** One valid request per operation, keyed as operations.ts names them. */
export const BUILDERS: Record<string, Builder> = {
  "POST /auth/signup": async (w) => ({
    url: "auth/signup",
    body: { email: `${w.unique("signup")}@example.com`, password: PASSWORD },
    remoteAddress: w.address(),
  }),
  "POST /auth/login": async (w) => ({
    url: "auth/login",
    body: { email: await w.account(), password: PASSWORD },
    remoteAddress: w.address(),
  }),
  "POST /auth/logout": at("auth/logout"),
  "POST /auth/password-reset": async (w) => ({
    url: "auth/password-reset",
    body: { email: await w.account() },
    remoteAddress: w.address(),
  }),
  "POST /auth/password-reset/confirm": async (w) => ({
    url: "auth/password-reset/confirm",
    body: { token: await w.passwordReset(), password: `${PASSWORD} anew` },
  }),
  "GET /me": at("me"),
  "POST /me/tokens": async (w, caller) => ({
    url: "me/tokens",
    body: { name: w.unique("token"), org: caller.org ?? w.org },
  }),
  "GET /me/tokens": at("me/tokens"),
  "DELETE /me/tokens/{id}": async (w, caller) => ({
    url: `me/tokens/${caller.userId ? await w.tokenOf(caller.userId, caller.org ?? w.org) : randomUUID()}`,
  }),
  "GET /me/grants": at("me/grants"),
  "DELETE /me/grants/{id}": async (w, caller) => ({
    url: `me/grants/${caller.userId ? await w.grantOf(caller.userId) : randomUUID()}`,
  }),

  // Public: the interaction cookie and the form token are the credentials (each call a browser of its own).
  "GET /oauth/interactions/{uid}": async (w) => {
    const { uid, cookie, remoteAddress } = await loginInteraction(w.api, w.address());
    return { url: `oauth/interactions/${uid}`, headers: { cookie }, remoteAddress };
  },
  "POST /oauth/interactions/{uid}/login": async (w) => {
    const { uid, cookie, formToken, remoteAddress } = await loginInteraction(w.api, w.address());
    return {
      url: `oauth/interactions/${uid}/login`,
      body: { email: await w.account(), password: PASSWORD, csrf: formToken },
      headers: { cookie },
      remoteAddress,
    };
  },
  "POST /oauth/interactions/{uid}/consent": async (w) => {
    const fixture = await consentInteraction(w.api, w.address(), { email: await w.account(), password: PASSWORD });
    return {
      url: `oauth/interactions/${fixture.uid}/consent`,
      body: { csrf: fixture.formToken },
      headers: { cookie: fixture.cookie },
      remoteAddress: fixture.remoteAddress,
    };
  },
  "POST /oauth/interactions/{uid}/abort": async (w) => {
    const { uid, cookie, formToken, remoteAddress } = await loginInteraction(w.api, w.address());
    return { url: `oauth/interactions/${uid}/abort`, body: { csrf: formToken }, headers: { cookie }, remoteAddress };
  },

  "POST /servers": async (w) => ({
    url: "servers",
    body: { slug: w.unique("new"), name: "New", authMode: "public", org: w.org },
  }),
  "GET /servers": at("servers"),
  "GET /servers/{slug}": async (w) => ({ url: `servers/${w.shared}` }),
  "PATCH /servers/{slug}": async (w) => {
    // A server of its own: an If-Match read now must still hold when the request is sent.
    const slug = await w.server("draft");
    return { url: `servers/${slug}`, body: { description: "described" }, headers: { "if-match": await w.etag(slug) } };
  },
  "DELETE /servers/{slug}": async (w) => ({ url: `servers/${await w.server("draft")}` }),
  "POST /servers/{slug}/pause": async (w) => ({ url: `servers/${await w.server("live")}/pause` }),
  "POST /servers/{slug}/resume": async (w) => ({ url: `servers/${await w.server("paused")}/resume` }),

  "POST /servers/{slug}/versions": async (w) => ({
    url: `servers/${w.shared}/versions`,
    body: { source: HELLO_SOURCE },
  }),
  "GET /servers/{slug}/versions": async (w) => ({ url: `servers/${w.shared}/versions` }),
  "GET /servers/{slug}/versions/{number}": async (w) => ({ url: `servers/${w.shared}/versions/1` }),
  "POST /servers/{slug}/deploy": async (w) => ({ url: `servers/${w.shared}/deploy`, body: { version: 1 } }),
  "POST /servers/{slug}/rollback": async (w) => ({
    url: `servers/${await w.server("two-live")}/rollback`,
    body: { version: 1 },
  }),
  "GET /servers/{slug}/deployments": async (w) => ({ url: `servers/${w.shared}/deployments` }),

  "PUT /servers/{slug}/secrets/{name}": async (w) => ({
    url: `servers/${w.shared}/secrets/API_TOKEN`,
    body: { value: "a value" },
  }),
  "GET /servers/{slug}/secrets": async (w) => ({ url: `servers/${w.shared}/secrets` }),
  "DELETE /servers/{slug}/secrets/{name}": async (w) => ({
    url: `servers/${w.shared}/secrets/${await w.secret(w.shared)}`,
  }),
  // A secret request is its asker's alone: one open for the caller (anyone else's would be a 404).
  "GET /secret-requests/{id}": async (w, caller) => ({ url: `secret-requests/${await secretRequestFor(w, caller)}` }),
  "POST /secret-requests/{id}": async (w, caller) => ({
    url: `secret-requests/${await secretRequestFor(w, caller)}`,
    body: { values: { SOME_TOKEN: "a value" } },
  }),

  "POST /servers/{slug}/keys": async (w) => ({ url: `servers/${w.shared}/keys`, body: { name: w.unique("key") } }),
  "GET /servers/{slug}/keys": async (w) => ({ url: `servers/${w.shared}/keys` }),
  "DELETE /servers/{slug}/keys/{id}": async (w) => ({
    url: `servers/${w.shared}/keys/${await w.apiKey(w.shared)}`,
  }),
  "POST /servers/{slug}/playground-token": async (w) => ({ url: `servers/${w.shared}/playground-token` }),

  "GET /templates": at("templates"),
  "GET /templates/{template}": at("templates/weather"),
  // A template with a required secret, so that the request stores one (compiling takes a second).
  "POST /templates/{template}/deploy": async (w) => ({
    url: "templates/notion-search/deploy",
    body: { slug: w.unique("tpl"), org: w.org, secrets: { NOTION_TOKEN: "ntn_fixture_value" } },
  }),

  "GET /orgs/{org}": async (w) => ({ url: `orgs/${w.org}` }),
  // Every caller renames org A: the matrix builds an allowed call just before sending it, so its ETag holds.
  "PATCH /orgs/{org}": async (w) => ({
    url: `orgs/${w.org}`,
    body: { name: w.unique("renamed") },
    headers: { "if-match": await w.etagAt(`orgs/${w.org}`) },
  }),
  "GET /plans": at("plans"),
  "GET /orgs/{org}/members": async (w) => ({ url: `orgs/${w.org}/members` }),
  "GET /orgs/{org}/members/{userId}": async (w) => ({
    url: `orgs/${w.org}/members/${(await w.member("member")).userId}`,
  }),
  "PATCH /orgs/{org}/members/{userId}": async (w) => {
    const url = `orgs/${w.org}/members/${(await w.member("member")).userId}`;
    return { url, body: { role: "viewer" }, headers: { "if-match": await w.etagAt(url) } };
  },
  "DELETE /orgs/{org}/members/{userId}": async (w) => ({
    url: `orgs/${w.org}/members/${(await w.member("member")).userId}`,
  }),
  "POST /orgs/{org}/invitations": async (w) => ({
    url: `orgs/${w.org}/invitations`,
    body: { email: `${w.unique("invited")}@example.com`, role: "member" },
  }),
  "GET /orgs/{org}/invitations": async (w) => ({ url: `orgs/${w.org}/invitations` }),
  "DELETE /orgs/{org}/invitations/{id}": async (w) => ({ url: `orgs/${w.org}/invitations/${await w.invitation()}` }),
  "POST /invitations/accept": async (w, caller) => ({
    url: "invitations/accept",
    body: { token: (await w.invitationFor(caller.email ?? "nobody@example.com")).token },
  }),

  "GET /orgs/{org}/audit": async (w) => ({ url: `orgs/${w.org}/audit` }),

  // Without Accept: text/event-stream, the log answers one JSON page.
  "GET /servers/{slug}/logs": async (w) => ({ url: `servers/${w.shared}/logs` }),
  "PUT /orgs/{org}/model-key": async (w) => ({ url: `orgs/${w.org}/model-key`, body: { value: "sk-ant-org-fixture" } }),
  "GET /orgs/{org}/model-key": async (w) => ({ url: `orgs/${w.org}/model-key` }),
  "DELETE /orgs/{org}/model-key": async (w) => {
    await w.ok(w.admin.put(`orgs/${w.org}/model-key`, { value: "sk-ant-org-fixture" }), 200);
    return { url: `orgs/${w.org}/model-key` };
  },
  "POST /builds": async (w) => ({ url: "builds", body: { prompt: "A server that says hello to people", org: w.org } }),
  "POST /servers/{slug}/builds": async (w) => ({
    url: `servers/${w.shared}/builds`,
    body: { prompt: "Also say goodbye to people" },
  }),
  "GET /builds": async () => ({ url: "builds" }),
  "GET /builds/{id}": async (w) => ({ url: `builds/${await w.build("queued")}` }),
  "POST /builds/{id}/confirm": async (w) => ({
    url: `builds/${await w.build("waiting")}/confirm`,
    body: { approvedEgress: ["api.example.com"] },
  }),
  "POST /builds/{id}/cancel": async (w) => ({ url: `builds/${await w.build("queued")}/cancel` }),
  "GET /builds/{id}/events": async (w) => ({ url: `builds/${await w.build("queued")}/events` }),
  "GET /servers/{slug}/usage": async (w) => ({ url: `servers/${w.shared}/usage` }),
  "GET /orgs/{org}/usage": async (w) => ({ url: `orgs/${w.org}/usage` }),
};
