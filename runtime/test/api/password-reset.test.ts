import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { adminOrg } from "./orgs-people.ts";
import { type Sent, send } from "./route-requests.ts";

// A forgotten password: POST /auth/password-reset answers the same whether or not the email has
// an account and, without a mail transport, writes the link to the server log; the link's token
// sets a new password once, within 30 minutes, and signs the account out of its browser sessions.

const OLD_PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a brand new passphrase";
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

describe.each(databaseBackends())("password reset on $name", (backend) => {
  let api: Api;
  let addresses = 0;
  /** A client address of its own for each request (the limits are per address). */
  const address = () => `10.20.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

  const requestReset = (email: string, from = address()) =>
    send(api, "POST", { url: "auth/password-reset", body: { email }, remoteAddress: from }, {});
  const confirm = (token: string, password = NEW_PASSWORD) =>
    send(api, "POST", { url: "auth/password-reset/confirm", body: { token, password } }, {});
  const login = (email: string, password: string) =>
    send(api, "POST", { url: "auth/login", body: { email, password }, remoteAddress: address() }, {});

  /** The log lines that carried a reset link for `email`, as the log mailer wrote them. */
  function linkLines(email: string): { level: number; msg: string; link: string }[] {
    return api.logs
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .flatMap((line) => {
        const match = /^password reset link for (\S+) \(no mail transport configured\): (\S+)$/.exec(line.msg ?? "");
        return match && match[1] === email ? [{ ...line, link: match[2] as string }] : [];
      });
  }

  /** Asks for a reset of `email` and reads the token from the link in the log. */
  async function tokenFor(email: string): Promise<string> {
    const before = linkLines(email).length;
    expect((await requestReset(email)).status).toBe(202);
    const lines = linkLines(email);
    expect(lines).toHaveLength(before + 1);
    const link = new URL((lines.at(-1) as { link: string }).link);
    expect(`${link.origin}${link.pathname}`).toBe(`${api.config.publicUrl}/reset-password`);
    return link.searchParams.get("token") as string;
  }

  const passwordHashOf = async (email: string) =>
    (
      await api.stores.db
        .selectFrom("users")
        .select("password_hash")
        .where("email", "=", email)
        .executeTakeFirstOrThrow()
    ).password_hash;

  const refusedLink = (response: Sent, detail: RegExp) => {
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      type: "urn:isola:problem:reset-link-invalid",
      title: "The password reset link is not valid",
    });
    expect(response.body.detail).toMatch(detail);
  };

  beforeAll(async () => {
    api = await startApi(backend);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("sets a new password once: the old one and every browser session stop working, tokens stay", async () => {
    const { session, org, email } = await api.signup(undefined, OLD_PASSWORD);
    const token = await api.tokenFor(session);
    const userId = (await token.get("me")).body.user.id as string;
    // Another browser of the same account.
    const elsewhere = await login(email, OLD_PASSWORD);
    expect(elsewhere.status).toBe(200);

    // Any case of the address finds the account; the link is for the address as stored.
    const asked = await requestReset(email.toUpperCase());
    expect(asked.status).toBe(202);
    expect(asked.body).toEqual({ delivery: "log", expiresInMinutes: 30 });
    const [line] = linkLines(email);
    expect(line?.level).toBe(30); // info
    const resetToken = new URL(line?.link as string).searchParams.get("token") as string;
    expect(resetToken).toMatch(/^isola_reset_[\w-]{43}$/);
    // Only its hash is stored.
    const stored = await api.stores.db.selectFrom("password_resets").selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(resetToken);
    expect(stored.map((row) => row.token_hash)).toContain(sha256(resetToken));

    const done = await confirm(resetToken);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toEqual({ email, sessionsEnded: 2 });

    expect((await login(email, OLD_PASSWORD)).body).toMatchObject({ type: "urn:isola:problem:invalid-credentials" });
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
    const oldSession = await session.get("me");
    expect(oldSession.status).toBe(401);
    expect(oldSession.body).toMatchObject({ type: "urn:isola:problem:unauthenticated" });
    // Personal access tokens stay valid: they were made on purpose and are revoked one by one.
    expect((await token.get("me")).status).toBe(200);

    // Recorded in the audit log of the account's org, with no secret in it.
    const audit = await token.get(`orgs/${org}/audit?action=user.password_reset`);
    expect(audit.status, JSON.stringify(audit.body)).toBe(200);
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        action: "user.password_reset",
        actor: { type: "user", id: userId, label: `${email} (password reset link)` },
        target: { type: "user", id: userId },
        sourceIp: expect.any(String),
        detail: { email, sessionsEnded: 2 },
      }),
    ]);
    expect(JSON.stringify(audit.body)).not.toContain(resetToken);

    // Single use.
    refusedLink(await confirm(resetToken, "yet another passphrase"), /already used/);
    expect((await login(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("answers an email without an account exactly as one with, and makes no link", async () => {
    const { email } = await api.signup();
    const known = await requestReset(email);
    const before = await api.stores.db.selectFrom("password_resets").select("user_id").execute();
    const unknown = await requestReset("nobody-at-all@example.com");
    expect(unknown.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    expect(unknown.headers["content-type"]).toBe(known.headers["content-type"]);
    expect(await api.stores.db.selectFrom("password_resets").select("user_id").execute()).toEqual(before);
    expect(linkLines("nobody-at-all@example.com")).toEqual([]);
  });

  it("sets a password for an account that had none (the bootstrapped owner)", async () => {
    expect(await passwordHashOf("owner@example.com")).toBeNull();
    expect((await confirm(await tokenFor("owner@example.com"))).status).toBe(200);
    expect((await login("owner@example.com", NEW_PASSWORD)).status).toBe(200);
    // The bootstrap token still works.
    expect((await api.admin.get(`orgs/${await adminOrg(api)}`)).status).toBe(200);
  });

  it("refuses a link replaced by a newer one, an expired one and one never issued, changing nothing", async () => {
    const { email } = await api.signup(undefined, OLD_PASSWORD);
    const first = await tokenFor(email);
    const second = await tokenFor(email);
    const hash = await passwordHashOf(email);
    refusedLink(await confirm(first), /not valid \(mistyped, or replaced by a newer one\)/);
    refusedLink(await confirm("isola_reset_neverissued"), /not valid/);

    await api.stores.db
      .updateTable("password_resets")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("token_hash", "=", sha256(second))
      .execute();
    refusedLink(await confirm(second), /has expired \(it works 30 minutes\)/);
    expect(await passwordHashOf(email)).toBe(hash);
    expect((await login(email, OLD_PASSWORD)).status).toBe(200);

    // A new request makes a link that works again.
    expect((await confirm(await tokenFor(email))).status).toBe(200);
  });

  it("ends the account's sign-in at the OAuth authorization server, not its grants", async () => {
    const { email } = await api.signup();
    const db = api.stores.db;
    const user = await db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirstOrThrow();
    const row = (model: string, id: string) => ({
      model,
      id,
      payload: JSON.stringify({ accountId: user.id }),
      grant_id: model === "Grant" ? id : null,
      uid: null,
      user_code: null,
      account_id: user.id,
      expires_at: new Date(Date.now() + 3_600_000),
    });
    await db
      .insertInto("oauth_models")
      .values([row("Session", `session-${user.id}`), row("Grant", `grant-${user.id}`)])
      .execute();
    expect((await confirm(await tokenFor(email))).status).toBe(200);
    const left = await db.selectFrom("oauth_models").select("model").where("account_id", "=", user.id).execute();
    expect(left).toEqual([{ model: "Grant" }]);
  });

  it("limits requests per email (3, whether or not it has an account) and per address (10)", async () => {
    const { email } = await api.signup();
    for (const target of [email, "no-account-here@example.com"]) {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await requestReset(target)).status);
      expect(statuses).toEqual([202, 202, 202, 429]);
      const refused = await requestReset(target);
      expect(refused.body).toMatchObject({ type: "urn:isola:problem:rate-limited" });
      expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    }
    // Another email is not held back by the first one's limit.
    expect((await requestReset("someone-else@example.com")).status).toBe(202);

    const from = address();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await requestReset(`spray-${i}@example.com`, from)).status);
    expect(statuses).toEqual([...Array(10).fill(202), 429]);
  });

  it.each([
    ["password-reset", {}, /email/],
    ["password-reset", { email: "not an email" }, /email/],
    ["password-reset", { email: "a@example.com", redirect: "https://evil.example" }, /Unrecognized key: "redirect"/],
    ["password-reset/confirm", { token: "isola_reset_x" }, /password/],
    ["password-reset/confirm", { token: "isola_reset_x", password: "short" }, /at least 10 characters.*password/],
    ["password-reset/confirm", { password: NEW_PASSWORD }, /token/],
    ["password-reset/confirm", { token: "", password: NEW_PASSWORD }, /token/],
    ["password-reset/confirm", { token: "x".repeat(201), password: NEW_PASSWORD }, /token/],
  ])("POST /auth/%s %j: 400 naming the field", async (path, body, detail) => {
    const response = await send(api, "POST", { url: `auth/${path}`, body, remoteAddress: address() }, {});
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: "urn:isola:problem:invalid-request" });
    expect(response.body.detail).toMatch(detail);
    expect(response.body.errors.length).toBeGreaterThan(0);
  });
});
