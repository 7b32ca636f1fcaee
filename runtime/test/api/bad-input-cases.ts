// Bad input, one table: what each case sends (starting from the operation's valid request, see
// route-requests.ts), the problem it must get and words its detail must say. The generic cases
// every route gets from its OpenAPI description (malformed JSON, wrong types, missing and
// unknown fields, unknown and malformed path parameters) are made in bad-input.test.ts.
import { createHash, randomBytes } from "node:crypto";
import type { ProblemCode } from "@isola/control";
import { expect } from "vitest";
import { HELLO_SOURCE } from "../support/api-harness.ts";
import { type Caller, PASSWORD, type RouteRequest, send, type World } from "./route-requests.ts";

export interface BadCase {
  /** The operation, as operations.ts keys it. */
  op: string;
  name: string;
  /** The request to send, made from the operation's valid one (after any fixtures the case needs). */
  request(world: World, valid: RouteRequest, caller: Caller): Promise<RouteRequest>;
  code: ProblemCode;
  detail: RegExp;
  /** Members the problem must also carry (e.g. the compiler's errors). */
  has?: Record<string, unknown>;
}

const cursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString("base64url");
const body = (value: unknown) => async (_w: World, valid: RouteRequest) => ({ ...valid, body: value });
const merged = (extra: Record<string, unknown>) => async (_w: World, valid: RouteRequest) => ({
  ...valid,
  body: { ...(valid.body as object), ...extra },
});
const query = (suffix: string) => async (_w: World, valid: RouteRequest) => ({
  ...valid,
  url: `${valid.url}?${suffix}`,
});
const headers = (extra: Record<string, string>) => async (_w: World, valid: RouteRequest) => ({
  ...valid,
  headers: { ...valid.headers, ...extra },
});

/** The If-Match cases of an update: none (428), one the API never gave out and, after the valid request was sent once, a stale one (412). */
function ifMatchCases(op: string, stale: RegExp): BadCase[] {
  return [
    {
      op,
      name: "no If-Match",
      request: async (_w, valid) => ({ ...valid, headers: {} }),
      code: "precondition-required",
      detail: /send If-Match with the ETag from your last read/,
    },
    {
      op,
      name: "an If-Match this API never gave out",
      request: headers({ "if-match": '"r99999999999"' }),
      code: "precondition-failed",
      detail: /If-Match does not hold an ETag this API gave out/,
    },
    {
      op,
      name: "a stale If-Match (the valid request was sent once already)",
      request: async (w, valid, caller) => {
        await w.ok(send(w.api, "PATCH", valid, await caller.headers()), 200);
        return valid;
      },
      code: "precondition-failed",
      detail: stale,
    },
  ];
}

/** Sends the valid request once with an Idempotency-Key; the case then reuses the key. */
async function usedKey(w: World, valid: RouteRequest, caller: Caller, method = "POST"): Promise<string> {
  const key = `key-${randomBytes(6).toString("hex")}`;
  const first = await send(
    w.api,
    method,
    { ...valid, headers: { ...valid.headers, "idempotency-key": key } },
    await caller.headers(),
  );
  if (first.status >= 300) throw new Error(`fixture failed: ${JSON.stringify(first.body)}`);
  return key;
}

/** The same request with its key reused: refused for another body, and for a secret shown once. */
function idempotencyCases(op: string, change: Record<string, unknown>, secretShownOnce: boolean): BadCase[] {
  const cases: BadCase[] = [
    {
      op,
      name: "an Idempotency-Key used before for another request",
      request: async (w, valid, caller) => {
        const key = await usedKey(w, valid, caller);
        return { ...valid, body: { ...(valid.body as object), ...change }, headers: { "idempotency-key": key } };
      },
      code: "idempotency-key-reused",
      detail: /Idempotency-Key was used for a different request/,
    },
    {
      op,
      name: "an Idempotency-Key that is not printable ASCII",
      request: headers({ "idempotency-key": "clé numéro un" }),
      code: "invalid-request",
      detail: /Idempotency-Key must be 1-200 printable ASCII/,
    },
  ];
  if (secretShownOnce) {
    cases.push({
      op,
      name: "a retry of a create whose secret was shown once",
      request: async (w, valid, caller) => ({
        ...valid,
        headers: { "idempotency-key": await usedKey(w, valid, caller) },
      }),
      code: "conflict",
      detail: /shown only once/,
    });
  } else {
    cases.push({
      op,
      name: "a retry while the first request with its Idempotency-Key still runs",
      // The state a first request leaves while it runs: its key reserved, no answer yet.
      request: async (w, valid) => {
        const key = `key-${randomBytes(6).toString("hex")}`;
        const hash = createHash("sha256")
          .update(`POST /api/v1/${valid.url}\n${JSON.stringify(valid.body ?? null)}`)
          .digest("hex");
        const token = await w.api.stores.db
          .selectFrom("personal_access_tokens")
          .select("id")
          .where("name", "=", "bootstrap")
          .executeTakeFirstOrThrow();
        await w.api.stores.db
          .insertInto("idempotency_keys")
          .values({ actor: `token:${token.id}`, key, request_hash: hash, status: 0, response: "null" })
          .execute();
        return { ...valid, headers: { "idempotency-key": key } };
      },
      code: "conflict",
      detail: /still in progress/,
    });
  }
  return cases;
}

const NUL = "a\u0000b";
const nulDetail = /NUL character/;

export const CASES: BadCase[] = [
  // accounts
  {
    op: "POST /auth/signup",
    name: "an email that has an account (in other letters)",
    request: merged({ email: "OWNER@example.com" }),
    code: "conflict",
    detail: /account with this email exists/,
  },
  {
    op: "POST /auth/signup",
    name: "a short password",
    request: merged({ password: "short" }),
    code: "invalid-request",
    detail: /at least 10 characters.*password/,
  },
  {
    op: "POST /auth/signup",
    name: "a NUL in the name",
    request: merged({ name: NUL }),
    code: "invalid-request",
    detail: nulDetail,
  },
  {
    op: "POST /auth/login",
    name: "a wrong password",
    request: merged({ password: `${PASSWORD} no` }),
    code: "invalid-credentials",
    detail: /email or password is wrong/,
  },
  {
    op: "POST /auth/login",
    name: "an email without an account",
    request: merged({ email: "nobody-here@example.com" }),
    code: "invalid-credentials",
    detail: /email or password is wrong/,
  },
  {
    op: "POST /auth/password-reset",
    name: "not an email",
    request: merged({ email: "not-an-email" }),
    code: "invalid-request",
    detail: /email/,
  },
  {
    op: "POST /auth/password-reset/confirm",
    name: "a short password",
    request: merged({ password: "short" }),
    code: "invalid-request",
    detail: /at least 10 characters.*password/,
    has: { errors: [{ in: "body", path: "password", message: "at least 10 characters" }] },
  },
  {
    op: "POST /auth/password-reset/confirm",
    name: "a token that was never issued",
    request: merged({ token: "isola_reset_neverissued" }),
    code: "reset-link-invalid",
    detail: /this password reset link is not valid/,
  },
  {
    op: "POST /auth/password-reset/confirm",
    name: "a link replaced by a newer one",
    request: async (w, valid) => {
      const token = (valid.body as { token: string }).token;
      const { email } = await w.api.stores.db
        .selectFrom("password_resets as r")
        .innerJoin("users as u", "u.id", "r.user_id")
        .select("u.email")
        .where("r.token_hash", "=", createHash("sha256").update(token).digest("hex"))
        .executeTakeFirstOrThrow();
      const asked = { url: "auth/password-reset", body: { email }, remoteAddress: w.address() };
      await w.ok(send(w.api, "POST", asked, {}), 202);
      return valid;
    },
    code: "reset-link-invalid",
    detail: /not valid \(mistyped, or replaced by a newer one\)/,
  },
  {
    op: "POST /auth/password-reset/confirm",
    name: "a link that has expired",
    request: async (w, valid) => {
      const token = (valid.body as { token: string }).token;
      await w.api.stores.db
        .updateTable("password_resets")
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where("token_hash", "=", createHash("sha256").update(token).digest("hex"))
        .execute();
      return valid;
    },
    code: "reset-link-invalid",
    detail: /this password reset link has expired/,
  },
  {
    op: "POST /auth/password-reset/confirm",
    name: "a link used before",
    request: async (w, valid, caller) => {
      await w.ok(send(w.api, "POST", valid, await caller.headers()), 200);
      return valid;
    },
    code: "reset-link-invalid",
    detail: /this password reset link was already used/,
  },
  {
    op: "POST /me/tokens",
    name: "an org you are not in",
    request: merged({ org: "no-such-org" }),
    code: "not-found",
    detail: /not in an org called no-such-org/,
  },
  {
    op: "POST /me/tokens",
    name: "a lifetime of 0 days",
    request: merged({ expiresInDays: 0 }),
    code: "invalid-request",
    detail: /expiresInDays/,
  },
  {
    op: "POST /me/tokens",
    name: "a NUL in the name",
    request: merged({ name: NUL }),
    code: "invalid-request",
    detail: nulDetail,
  },
  ...idempotencyCases("POST /me/tokens", { name: "another" }, true),
  {
    op: "DELETE /me/tokens/{id}",
    name: "someone else's token",
    request: async (w) => {
      const someone = await w.member("viewer");
      return { url: `me/tokens/${await w.tokenOf(someone.userId, w.org)}` };
    },
    code: "not-found",
    detail: /you have no token with that id/,
  },
  {
    op: "DELETE /me/grants/{id}",
    name: "someone else's grant",
    request: async (w) => {
      const someone = await w.member("viewer");
      return { url: `me/grants/${await w.grantOf(someone.userId)}` };
    },
    code: "not-found",
    detail: /you have no grant with that id/,
  },

  // OAuth interactions (the web app's sign-in and consent pages)
  ...[
    "GET /oauth/interactions/{uid}",
    "POST /oauth/interactions/{uid}/login",
    "POST /oauth/interactions/{uid}/abort",
  ].map(
    (op): BadCase => ({
      op,
      name: "no interaction cookie",
      request: async (_w, valid) => ({ ...valid, headers: {} }),
      code: "not-found",
      detail: /this browser has no sign-in with that id/,
    }),
  ),
  ...[
    "POST /oauth/interactions/{uid}/login",
    "POST /oauth/interactions/{uid}/consent",
    "POST /oauth/interactions/{uid}/abort",
  ].map(
    (op): BadCase => ({
      op,
      name: "another interaction's form token",
      request: merged({ csrf: "A".repeat(43) }),
      code: "csrf-failed",
      detail: /form token is not this sign-in's/,
    }),
  ),
  {
    op: "POST /oauth/interactions/{uid}/login",
    name: "a wrong password",
    request: merged({ password: `${PASSWORD} no` }),
    code: "invalid-credentials",
    detail: /email or password is wrong/,
    has: { errors: [{ in: "body", path: "password", message: "email or password is wrong" }] },
  },
  {
    op: "POST /oauth/interactions/{uid}/consent",
    name: "an interaction that expired",
    request: async (w, valid) => {
      const uid = valid.url.split("/")[2] as string;
      await w.api.stores.db
        .updateTable("oauth_models")
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where("model", "=", "Interaction")
        .where("id", "=", uid)
        .execute();
      return valid;
    },
    code: "interaction-expired",
    detail: /timed out/,
  },

  // servers
  {
    op: "POST /servers",
    name: "a slug that is taken",
    request: async (w, valid) => ({ ...valid, body: { ...(valid.body as object), slug: w.shared } }),
    code: "slug-taken",
    detail: /a server called shared-hello exists/,
  },
  {
    op: "POST /servers",
    name: "a reserved slug",
    request: merged({ slug: "oauth" }),
    code: "invalid-request",
    detail: /reserved/,
  },
  {
    op: "POST /servers",
    name: "an org that does not exist",
    request: merged({ org: "no-such-org" }),
    code: "not-found",
    detail: /no org called no-such-org/,
  },
  {
    op: "POST /servers",
    name: "a NUL in the name",
    request: merged({ name: NUL }),
    code: "invalid-request",
    detail: nulDetail,
  },
  {
    op: "POST /servers",
    name: "an unknown auth mode",
    request: merged({ authMode: "magic" }),
    code: "invalid-request",
    detail: /authMode/,
  },
  {
    op: "POST /servers",
    name: "an invite list without emails",
    request: merged({ accessPolicy: { kind: "invite_list" } }),
    code: "invalid-request",
    detail: /accessPolicy\.emails/,
  },
  ...idempotencyCases("POST /servers", { name: "Another" }, false),
  {
    op: "GET /servers",
    name: "a cursor of another list",
    request: query(`cursor=${cursor({ number: 1 })}`),
    code: "invalid-request",
    detail: /cursor is not one this list gave out/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "a stale If-Match",
    request: async (w, valid) => {
      const slug = valid.url.split("/")[1] as string;
      await w.ok(w.admin.patch(`servers/${slug}`, { name: "Changed" }, valid.headers), 200);
      return valid;
    },
    code: "precondition-failed",
    detail: /changed since revision \d+; read it again/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "no If-Match",
    request: async (_w, valid) => ({ ...valid, headers: {} }),
    code: "precondition-required",
    detail: /send If-Match/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "an If-Match this API never gave out",
    request: headers({ "if-match": '"r99999999999"' }),
    code: "precondition-failed",
    detail: /If-Match does not hold an ETag this API gave out/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "a custom domain another server has",
    request: async (w, valid) => {
      const other = await w.server("draft");
      const domain = `${w.unique("mcp")}.example.com`;
      await w.ok(w.admin.patch(`servers/${other}`, { customDomain: domain }, { "if-match": await w.etag(other) }), 200);
      return { ...valid, body: { customDomain: domain } };
    },
    code: "conflict",
    detail: /custom domain mcp-\d+\.example\.com is used by another server/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "an origin with a path",
    request: body({ allowedOrigins: ["https://app.example.com/path"] }),
    code: "invalid-request",
    detail: /allowedOrigins/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "nothing to change",
    request: body({}),
    code: "invalid-request",
    detail: /send at least one field to change/,
  },
  {
    op: "PATCH /servers/{slug}",
    name: "a NUL in the description",
    request: body({ description: NUL }),
    code: "invalid-request",
    detail: nulDetail,
  },
  {
    op: "POST /servers/{slug}/pause",
    name: "a draft",
    request: async (w) => ({ url: `servers/${await w.server("draft")}/pause` }),
    code: "conflict",
    detail: /a draft server serves nothing to pause/,
  },
  {
    op: "POST /servers/{slug}/resume",
    name: "a server never deployed",
    request: async (w) => ({ url: `servers/${await w.server("versioned")}/resume` }),
    code: "conflict",
    detail: /deploy a version before resuming/,
  },

  // versions and deploys
  {
    op: "POST /servers/{slug}/versions",
    name: "code that does not type-check",
    request: body({ source: 'const n: number = "x";\nexport {};' }),
    code: "compile-failed",
    detail: /1 problem\(s\) in the code; nothing was stored/,
    has: { errors: [expect.objectContaining({ step: "types", file: "index.ts", line: 1 })] },
  },
  {
    op: "POST /servers/{slug}/versions",
    name: "no files",
    request: body({ files: {} }),
    code: "compile-failed",
    detail: /nothing was stored/,
    has: { errors: [expect.objectContaining({ step: "files", message: "no source files were given" })] },
  },
  {
    op: "POST /servers/{slug}/versions",
    name: "both source and files",
    request: body({ source: HELLO_SOURCE, files: { "index.ts": HELLO_SOURCE } }),
    code: "invalid-request",
    detail: /send \{"source": "<TypeScript>"\} \(one file\) or \{"files"/,
  },
  {
    op: "POST /servers/{slug}/versions",
    name: "declarative tools without a tool",
    request: body({ declarative: { name: "empty", tools: [] } }),
    code: "invalid-request",
    detail: /declarative/,
  },
  ...idempotencyCases("POST /servers/{slug}/versions", { source: `${HELLO_SOURCE}\n// changed` }, false),
  {
    op: "GET /servers/{slug}/versions",
    name: "a forged cursor with a fraction",
    request: query(`cursor=${cursor({ number: 1.5 })}`),
    code: "invalid-request",
    detail: /cursor is not one this list gave out/,
  },
  {
    op: "GET /servers/{slug}/versions",
    name: "a forged cursor beyond any version",
    request: query(`cursor=${cursor({ number: 1e20 })}`),
    code: "invalid-request",
    detail: /cursor is not one this list gave out/,
  },
  {
    op: "GET /servers/{slug}/versions/{number}",
    name: "a number beyond any version",
    request: async (_w, valid) => ({ url: valid.url.replace(/\/1$/, "/99999999999") }),
    code: "invalid-request",
    detail: /path is not valid.*number/,
  },
  {
    op: "POST /servers/{slug}/deploy",
    name: "a version that does not exist",
    request: body({ version: 99 }),
    code: "not-found",
    detail: /shared-hello has no version 99/,
  },
  {
    op: "POST /servers/{slug}/deploy",
    name: "a version beyond any",
    request: body({ version: 99_999_999_999 }),
    code: "invalid-request",
    detail: /version/,
  },
  {
    op: "POST /servers/{slug}/deploy",
    name: "code that reaches hosts the owner has not approved",
    request: async (w) => ({
      url: `servers/${await w.server("versioned", { declares: ["api.example.com"] })}/deploy`,
      body: { version: 1 },
    }),
    code: "egress-not-approved",
    detail: /approve these hosts first.*api\.example\.com/,
    has: { hosts: ["api.example.com"] },
  },
  {
    op: "POST /servers/{slug}/rollback",
    name: "the live version",
    request: async (_w, valid) => ({ ...valid, body: { version: 2 } }),
    code: "conflict",
    detail: /roll back to a version before the live one \(2\)/,
  },
  {
    op: "POST /servers/{slug}/rollback",
    name: "a version whose hosts are no longer approved",
    request: async (w) => {
      const hosts = ["api.example.com"];
      const slug = await w.server("two-live", { declares: hosts, approves: hosts });
      await w.ok(w.admin.patch(`servers/${slug}`, { egressApproved: [] }, { "if-match": await w.etag(slug) }), 200);
      return { url: `servers/${slug}/rollback`, body: { version: 1 } };
    },
    code: "egress-not-approved",
    detail: /api\.example\.com/,
  },
  {
    op: "GET /servers/{slug}/deployments",
    name: "a forged cursor that is no date",
    request: query(`cursor=${cursor({ at: "yesterday", id: "x" })}`),
    code: "invalid-request",
    detail: /cursor is not one this list gave out/,
  },
  {
    op: "GET /servers/{slug}/deployments",
    name: "a forged cursor that is no id",
    request: query(`cursor=${cursor({ at: new Date().toISOString(), id: "x" })}`),
    code: "invalid-request",
    detail: /cursor is not one this list gave out/,
  },

  // secrets
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "an empty value",
    request: body({ value: "" }),
    code: "invalid-request",
    detail: /the value is empty/,
  },
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "a value over 64 KiB",
    request: body({ value: "é".repeat(40_000) }),
    code: "invalid-request",
    detail: /at most 65536 bytes in UTF-8/,
  },
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "a body over the size limit",
    request: body({ value: "x".repeat(2_000_000) }),
    code: "payload-too-large",
    detail: /too large/,
  },
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "an If-Match of a value replaced since",
    request: async (w, valid, caller) => {
      const first = await w.ok(send(w.api, "PUT", valid, await caller.headers()), 200);
      await w.ok(send(w.api, "PUT", valid, await caller.headers()), 200);
      return { ...valid, headers: { "if-match": String(first.headers.etag) } };
    },
    code: "precondition-failed",
    detail: /the secret API_TOKEN changed since revision \d+; read it again/,
  },
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "an If-Match for a secret that is not set",
    request: async (w) => ({
      url: `servers/${w.shared}/secrets/NEVER_SET`,
      body: { value: "x" },
      headers: { "if-match": '"r1"' },
    }),
    code: "precondition-failed",
    detail: /shared-hello has no secret NEVER_SET to match If-Match/,
  },
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "an If-Match this API never gave out",
    request: headers({ "if-match": "*" }),
    code: "precondition-failed",
    detail: /If-Match does not hold an ETag this API gave out/,
  },
  {
    op: "PUT /servers/{slug}/secrets/{name}",
    name: "a 101st secret",
    request: async (w) => {
      const slug = await w.server("draft");
      const db = w.api.stores.db;
      const server = await db.selectFrom("servers").select("id").where("slug", "=", slug).executeTakeFirstOrThrow();
      await db
        .insertInto("secrets")
        .values(
          Array.from({ length: 100 }, (_, i) => ({
            server_id: server.id,
            name: `FILLER_${i}`,
            ciphertext: "AAAA",
            nonce: "AAAA",
            key_id: "filler",
          })),
        )
        .execute();
      return { url: `servers/${slug}/secrets/ONE_MORE`, body: { value: "x" } };
    },
    code: "conflict",
    detail: /at most 100 secrets/,
  },

  // keys
  {
    op: "POST /servers/{slug}/keys",
    name: "the name of a key that is not revoked",
    request: async (w, valid) => {
      const name = w.unique("taken");
      await w.ok(w.admin.post(valid.url, { name }), 201);
      return { ...valid, body: { name } };
    },
    code: "conflict",
    detail: /has a key called taken-\d+/,
  },
  {
    op: "POST /servers/{slug}/keys",
    name: "a rate limit of 0",
    request: merged({ rateLimitPerMinute: 0 }),
    code: "invalid-request",
    detail: /rateLimitPerMinute/,
  },
  ...idempotencyCases("POST /servers/{slug}/keys", { name: "another" }, true),

  // templates
  {
    op: "GET /templates/{template}",
    name: "a template that does not exist",
    request: async () => ({ url: "templates/jira" }),
    code: "not-found",
    detail: /no template called jira/,
  },
  {
    op: "GET /templates/{template}",
    name: "a name that cannot be a template's",
    request: async () => ({ url: "templates/Not_A_Template" }),
    code: "invalid-request",
    detail: /path is not valid.*at template/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a template that does not exist",
    request: async (_w, valid) => ({ ...valid, url: "templates/jira/deploy" }),
    code: "not-found",
    detail: /no template called jira/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a required secret left out",
    request: merged({ secrets: {} }),
    code: "invalid-request",
    detail: /the secret NOTION_TOKEN is required .*to get one: /,
    has: { errors: [{ in: "body", path: "secrets.NOTION_TOKEN", message: expect.any(String) }] },
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a secret the template does not read",
    request: merged({ secrets: { NOTION_TOKEN: "x", GITHUB_TOKEN: "y" } }),
    code: "invalid-request",
    detail: /the notion-search template reads no secret GITHUB_TOKEN \(it reads: NOTION_TOKEN\)/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "an empty secret value",
    request: merged({ secrets: { NOTION_TOKEN: "" } }),
    code: "invalid-request",
    detail: /the value is empty/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a secret name that is not UPPER_SNAKE_CASE",
    request: merged({ secrets: { notion_token: "x" } }),
    code: "invalid-request",
    detail: /a secret's name is UPPER_SNAKE_CASE.*secrets\.notion_token/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a setting's name that is not camelCase",
    request: merged({ config: { "api-url": "https://api.notion.com" } }),
    code: "invalid-request",
    detail: /a setting's name is camelCase.*at config\["api-url"\]/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a setting the template does not have",
    request: merged({ config: { region: "eu" } }),
    code: "invalid-request",
    detail: /the notion-search template has no setting region \(its settings: apiUrl, notionVersion\)/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a setting the code refuses",
    request: merged({ config: { notionVersion: "latest" } }),
    code: "compile-failed",
    detail: /1 problem\(s\) in the notion-search template with these settings; nothing was stored/,
    has: { errors: [expect.objectContaining({ step: "load", message: expect.stringMatching(/notionVersion/) })] },
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a slug that is taken",
    request: async (w, valid) => ({ ...valid, body: { ...(valid.body as object), slug: w.shared } }),
    code: "slug-taken",
    detail: /a server called shared-hello exists/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "a reserved slug",
    request: merged({ slug: "templates" }),
    code: "invalid-request",
    detail: /reserved/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "an org that does not exist",
    request: merged({ org: "no-such-org" }),
    code: "not-found",
    detail: /no org called no-such-org/,
  },
  {
    op: "POST /templates/{template}/deploy",
    name: "an auth mode that does not exist",
    request: merged({ authMode: "magic" }),
    code: "invalid-request",
    detail: /authMode/,
  },

  // orgs, members, invitations
  {
    op: "PATCH /orgs/{org}",
    name: "a blank name",
    request: body({ name: "  " }),
    code: "invalid-request",
    detail: /name/,
  },
  {
    op: "PATCH /orgs/{org}",
    name: "a NUL in the name",
    request: body({ name: NUL }),
    code: "invalid-request",
    detail: nulDetail,
  },
  ...ifMatchCases("PATCH /orgs/{org}", /the org [a-z0-9-]+ changed since revision \d+; read it again/),
  {
    op: "PATCH /orgs/{org}/members/{userId}",
    name: "demoting the last owner",
    request: async (w, _valid, caller) => {
      const url = `orgs/${w.org}/members/${caller.userId}`;
      return { url, body: { role: "admin" }, headers: { "if-match": await w.etagAt(url) } };
    },
    code: "conflict",
    detail: /last owner/,
  },
  ...ifMatchCases(
    "PATCH /orgs/{org}/members/{userId}",
    /the member p-[0-9a-f]+@example\.com changed since revision \d+; read it again/,
  ),
  {
    op: "PATCH /orgs/{org}/members/{userId}",
    name: "a role that does not exist",
    request: body({ role: "superuser" }),
    code: "invalid-request",
    detail: /role/,
  },
  {
    op: "DELETE /orgs/{org}/members/{userId}",
    name: "the last owner leaving",
    request: async (w, _valid, caller) => ({ url: `orgs/${w.org}/members/${caller.userId}` }),
    code: "conflict",
    detail: /last owner/,
  },
  {
    op: "POST /orgs/{org}/invitations",
    name: "someone who is a member",
    request: async (_w, valid, caller) => ({ ...valid, body: { email: caller.email, role: "member" } }),
    code: "conflict",
    detail: /owner@example\.com is already a member/,
  },
  {
    op: "POST /orgs/{org}/invitations",
    name: "not an email",
    request: merged({ email: "not-an-email" }),
    code: "invalid-request",
    detail: /email/,
  },
  ...idempotencyCases("POST /orgs/{org}/invitations", { role: "viewer" }, true),
  {
    op: "POST /invitations/accept",
    name: "a token that was never issued",
    request: body({ token: "isola_inv_neverissued" }),
    code: "not-found",
    detail: /this invitation link is not valid/,
  },
  {
    op: "POST /invitations/accept",
    name: "a personal access token (it acts in its own org only)",
    request: async (w, _valid, caller) => ({
      url: "invitations/accept",
      body: { token: (await w.invitationFor(caller.email as string)).token },
      headers: { authorization: `Bearer ${w.api.adminToken}` },
    }),
    code: "forbidden",
    detail: /a personal access token acts only in its own org and cannot join another; accept the invitation signed in/,
  },
  {
    op: "POST /invitations/accept",
    name: "an invitation for another address",
    request: async (w) => ({
      url: "invitations/accept",
      body: { token: (await w.invitationFor("someone-else@example.com")).token },
    }),
    code: "forbidden",
    detail: /for another email address/,
  },
  {
    op: "POST /invitations/accept",
    name: "an invitation that has expired",
    request: async (w, _valid, caller) => {
      const { token, org } = await w.invitationFor(caller.email as string);
      const db = w.api.stores.db;
      const { id } = await db.selectFrom("orgs").select("id").where("slug", "=", org).executeTakeFirstOrThrow();
      await db
        .updateTable("invitations")
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where("org_id", "=", id)
        .execute();
      return { url: "invitations/accept", body: { token } };
    },
    code: "not-found",
    detail: /this invitation has expired/,
  },
  {
    op: "POST /invitations/accept",
    name: "an invitation used before",
    request: async (w, valid, caller) => {
      await w.ok(send(w.api, "POST", valid, await caller.headers()), 200);
      return valid;
    },
    code: "not-found",
    detail: /this invitation was already used/,
  },
  {
    op: "POST /invitations/accept",
    name: "an invitation to an org you are in",
    request: async (w, _valid, caller) => {
      const { token, org } = await w.invitationFor(caller.email as string);
      const db = w.api.stores.db;
      const { id } = await db.selectFrom("orgs").select("id").where("slug", "=", org).executeTakeFirstOrThrow();
      await db
        .insertInto("memberships")
        .values({ org_id: id, user_id: caller.userId as string, role: "viewer" })
        .execute();
      return { url: "invitations/accept", body: { token } };
    },
    code: "conflict",
    detail: /you are already a member of org-\d+/,
  },

  // audit
  {
    op: "GET /orgs/{org}/audit",
    name: "a from that is not a date",
    request: query("from=yesterday"),
    code: "invalid-request",
    detail: /ISO 8601 date-time.*from/,
  },
  {
    op: "GET /orgs/{org}/audit",
    name: "a from after the to",
    request: query("from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z"),
    code: "invalid-request",
    detail: /from must be before to/,
  },
  {
    op: "GET /orgs/{org}/audit",
    name: "an unknown filter",
    request: query("colour=red"),
    code: "invalid-request",
    detail: /colour/,
  },
  {
    op: "GET /orgs/{org}/audit",
    name: "an unknown actor type",
    request: query("actorType=robot"),
    code: "invalid-request",
    detail: /actorType/,
  },
  {
    op: "GET /orgs/{org}/audit",
    name: "a forged cursor beyond a bigint",
    request: query(`cursor=${cursor({ id: "9999999999999999999" })}`),
    code: "invalid-request",
    detail: /cursor is not one this list gave out/,
  },
  {
    op: "GET /orgs/{org}/audit",
    name: "a NUL in targetId",
    request: query("targetId=a%00b"),
    code: "invalid-request",
    detail: nulDetail,
  },

  // observe
  {
    op: "GET /servers/{slug}/logs",
    name: "a Last-Event-ID the stream never sent",
    request: headers({ accept: "text/event-stream", "last-event-id": "latest" }),
    code: "invalid-request",
    detail: /Last-Event-ID is not an id this stream sent/,
  },
  {
    op: "GET /servers/{slug}/logs",
    name: "an after that is no line id",
    request: query("after=latest"),
    code: "invalid-request",
    detail: /after/,
  },
  {
    op: "GET /servers/{slug}/logs",
    name: "a follow that is no boolean",
    request: query("follow=maybe"),
    code: "invalid-request",
    detail: /follow/,
  },
  {
    op: "GET /servers/{slug}/usage",
    name: "a step that is no duration",
    request: query("step=7x"),
    code: "invalid-request",
    detail: /step/,
  },
  {
    op: "GET /servers/{slug}/usage",
    name: "a from that is not a date",
    request: query("from=monday"),
    code: "invalid-request",
    detail: /from/,
  },
  {
    op: "GET /servers/{slug}/usage",
    name: "an unknown parameter",
    request: query("colour=red"),
    code: "invalid-request",
    detail: /colour/,
  },

  {
    op: "GET /orgs/{org}/usage",
    name: "a month that is no month",
    request: query("month=2026-13"),
    code: "invalid-request",
    detail: /a month such as 2026-01.*month/,
  },
  {
    op: "GET /orgs/{org}/usage",
    name: "a month that has not begun",
    request: query("month=9999-01"),
    code: "invalid-request",
    detail: /month 9999-01 has not begun/,
  },
  {
    op: "GET /orgs/{org}/usage",
    name: "an unknown parameter",
    request: query("step=1h"),
    code: "invalid-request",
    detail: /step/,
  },

  // an org's model key
  {
    op: "PUT /orgs/{org}/model-key",
    name: "an empty key",
    request: body({ value: "" }),
    code: "invalid-request",
    detail: /the value is empty/,
  },
  {
    op: "DELETE /orgs/{org}/model-key",
    name: "an org without a model key",
    request: async (w, valid) => {
      await w.admin.delete(`orgs/${w.org}/model-key`);
      return valid;
    },
    code: "not-found",
    detail: /has no model key/,
  },

  // builds
  ...idempotencyCases("POST /builds", { prompt: "Another server that says hello" }, false),
  ...idempotencyCases("POST /servers/{slug}/builds", { prompt: "Also say good night to people" }, false),
  {
    op: "POST /builds",
    name: "a brief too short to plan from",
    request: merged({ prompt: "hi" }),
    code: "invalid-request",
    detail: /at least 10 characters/,
  },
  {
    op: "POST /builds",
    name: "the slug of an existing server",
    request: async (w, valid) => ({ ...valid, body: { ...(valid.body as object), slug: w.shared } }),
    code: "slug-taken",
    detail: /a server called shared-hello exists/,
  },
  {
    op: "POST /builds",
    name: "an org you are not in",
    request: merged({ org: "no-such-org" }),
    code: "not-found",
    detail: /no org called no-such-org/,
  },
  {
    op: "POST /builds/{id}/confirm",
    name: "a host the plan does not name",
    request: merged({ approvedEgress: ["evil.example.com"] }),
    code: "invalid-request",
    detail: /not in it: evil.example.com/,
  },
  {
    op: "POST /builds/{id}/confirm",
    name: "a secret the plan does not ask for",
    request: merged({ secrets: { OTHER_TOKEN: "x" } }),
    code: "invalid-request",
    detail: /no secret called OTHER_TOKEN/,
  },
  {
    op: "POST /builds/{id}/confirm",
    name: "a build that is not waiting",
    request: async (w, valid) => ({ ...valid, url: `builds/${await w.build("queued")}/confirm` }),
    code: "conflict",
    detail: /the build is queued, not waiting/,
  },
  {
    op: "POST /builds/{id}/confirm",
    name: "a new server's slug taken since the build was queued",
    request: async (w, valid) => ({ ...valid, url: `builds/${await w.build("waiting", w.shared)}/confirm` }),
    code: "slug-taken",
    detail: /a server called shared-hello exists/,
  },
  {
    op: "POST /builds/{id}/cancel",
    name: "a build that has finished",
    request: async (w, valid) => ({ ...valid, url: `builds/${await w.build("succeeded")}/cancel` }),
    code: "conflict",
    detail: /already succeeded/,
  },
  {
    op: "GET /builds/{id}/events",
    name: "an after that is no number",
    request: query("after=last"),
    code: "invalid-request",
    detail: /after/,
  },
];
