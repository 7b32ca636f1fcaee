// The sign-in and consent steps as the web app's pages use them: /api/v1/oauth/interactions/{uid},
// called with the browser's cookies (its interaction cookie). What a page shows; each step's
// answer (where the browser goes next); and every refusal as problem details: an interaction this
// browser does not hold, one that expired, a forged form token, a wrong password (named by its
// field), the sign-in lockout with Retry-After. And the pages' URLs left to the web role.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OAuthAgent, randomLoopbackAddress } from "../support/oauth-agent.ts";
import { authorizationUrl, pkce, type RegisteredClient, registerPublicClient } from "../support/oauth-client.ts";
import { type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  body: any;
}

describe("the OAuth interaction API (/api/v1/oauth/interactions)", () => {
  let instance: OAuthInstance;
  let owner: Person;
  let notes: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    instance = await startOAuthInstance();
    owner = await instance.person();
    notes = await instance.server(owner, "interaction-notes");
    client = await registerPublicClient(instance.issuer, { client_name: "Interaction Desktop" });
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
  });

  /** An authorization started in a fresh browser: its uid and the cookies its page gets. */
  async function started(agent = new OAuthAgent()) {
    const url = authorizationUrl(instance.issuer, {
      client,
      challenge: pkce().challenge,
      resource: notes,
      scope: "mcp:tools",
      state: "s1",
    });
    const start = await agent.request("GET", url);
    const page = new URL(start.headers.get("location") ?? "", instance.issuer);
    const uid = page.pathname.split("/").pop() as string;
    return { agent, uid, page, cookie: agent.jar.header(page) ?? "" };
  }

  /** A call of the API as the web role makes it: the browser's cookies and address passed on. */
  async function call(
    method: "GET" | "POST",
    path: string,
    options: { cookie?: string; body?: unknown; ip?: string } = {},
  ): Promise<Answer> {
    const response = await instance.api.app.inject({
      method,
      url: `/api/v1/oauth/interactions/${path}`,
      headers: {
        ...(options.cookie ? { cookie: options.cookie } : {}),
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
      remoteAddress: options.ip ?? randomLoopbackAddress(),
    });
    return { status: response.statusCode, headers: response.headers, body: response.json() };
  }

  function expectProblem(answer: Answer, status: number, code: string, detail: RegExp) {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(String(answer.headers["content-type"])).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ type: `urn:isola:problem:${code}`, status });
    expect(answer.body.detail).toMatch(detail);
  }

  it("shows what the sign-in page needs, signs in, shows the consent, and allows: the client gets its code", async () => {
    const { agent, uid, cookie } = await started();
    const login = await call("GET", uid, { cookie });
    expect(login.status).toBe(200);
    expect(login.headers["cache-control"]).toBe("no-store");
    expect(login.body).toEqual({
      prompt: "login",
      uid,
      formToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client: { id: client.client_id, name: "Interaction Desktop", redirectHost: "http://127.0.0.1:9" },
      server: { name: "interaction-notes", url: notes },
    });

    const signedIn = await call("POST", `${uid}/login`, {
      cookie,
      body: { email: `  ${owner.email.toUpperCase()} `, password: owner.password, csrf: login.body.formToken },
    });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body.redirectTo).toBe(`${instance.issuer}/auth/${uid}`);

    // The browser follows it: the authorization server asks for consent, in a new interaction.
    const resumed = await agent.request("GET", signedIn.body.redirectTo);
    const consentPage = new URL(resumed.headers.get("location") ?? "", instance.issuer);
    const consentUid = consentPage.pathname.split("/").pop() as string;
    const consentCookie = agent.jar.header(consentPage) ?? "";
    const consent = await call("GET", consentUid, { cookie: consentCookie });
    expect(consent.body).toMatchObject({
      prompt: "consent",
      uid: consentUid,
      user: { email: owner.email },
      server: { name: "interaction-notes", url: notes },
      scopes: [{ scope: "mcp:tools", description: "connect to interaction-notes and call its tools as you" }],
    });

    const allowed = await call("POST", `${consentUid}/consent`, {
      cookie: consentCookie,
      body: { csrf: consent.body.formToken },
    });
    expect(allowed.status).toBe(200);
    const back = await agent.request("GET", allowed.body.redirectTo);
    const callback = new URL(back.headers.get("location") ?? "");
    expect(callback.origin).toBe("http://127.0.0.1:9");
    expect(callback.searchParams.get("code")).toMatch(/.{20,}/);
    expect(callback.searchParams.get("state")).toBe("s1");
  });

  it("sends an aborted sign-in back to the client as access_denied", async () => {
    const { agent, uid, cookie } = await started();
    const { formToken } = (await call("GET", uid, { cookie })).body;
    const aborted = await call("POST", `${uid}/abort`, { cookie, body: { csrf: formToken } });
    expect(aborted.status).toBe(200);
    const back = await agent.request("GET", aborted.body.redirectTo);
    const callback = new URL(back.headers.get("location") ?? "");
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.has("code")).toBe(false);
  });

  it("answers 404 for an interaction this browser does not hold, 400 for an id of the wrong shape", async () => {
    const { uid, cookie } = await started();
    const other = await started();
    expectProblem(await call("GET", uid), 404, "not-found", /this browser has no sign-in with that id/);
    expectProblem(await call("GET", other.uid, { cookie }), 404, "not-found", /this browser's sign-in is another one/);
    expectProblem(
      await call("POST", `${other.uid}/login`, {
        cookie,
        body: { email: owner.email, password: owner.password, csrf: "x" },
      }),
      404,
      "not-found",
      /another one/,
    );
    expectProblem(await call("GET", "not%20an%20id", { cookie }), 400, "invalid-request", /interaction id/);
  });

  it("answers 410 for an interaction that expired", async () => {
    const { uid, cookie } = await started();
    const { formToken } = (await call("GET", uid, { cookie })).body;
    await instance.api.stores.db
      .updateTable("oauth_models")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("model", "=", "Interaction")
      .where("id", "=", uid)
      .execute();
    expectProblem(await call("GET", uid, { cookie }), 410, "interaction-expired", /timed out/);
    expectProblem(
      await call("POST", `${uid}/consent`, { cookie, body: { csrf: formToken } }),
      410,
      "interaction-expired",
      /timed out/,
    );
  });

  it("refuses an answer without this interaction's form token (403), and the sign-in still waits", async () => {
    const { uid, cookie } = await started();
    const other = await started();
    const { formToken: othersToken } = (await call("GET", other.uid, { cookie: other.cookie })).body;
    for (const csrf of ["", "forged", othersToken]) {
      expectProblem(
        await call("POST", `${uid}/login`, { cookie, body: { email: owner.email, password: owner.password, csrf } }),
        403,
        "csrf-failed",
        /form token is not this sign-in's/,
      );
      expectProblem(await call("POST", `${uid}/abort`, { cookie, body: { csrf } }), 403, "csrf-failed", /form token/);
    }
    expect((await call("GET", uid, { cookie })).body.prompt).toBe("login");
  });

  it("names the password field for a wrong password (401), and locks out after ten attempts (429, Retry-After)", async () => {
    const { uid, cookie } = await started();
    const { formToken } = (await call("GET", uid, { cookie })).body;
    const email = `nobody-${randomBytes(4).toString("hex")}@example.com`;
    const ip = randomLoopbackAddress();
    const attempt = (password: string) =>
      call("POST", `${uid}/login`, { cookie, ip, body: { email, password, csrf: formToken } });
    const wrong = await attempt("not the password");
    expectProblem(wrong, 401, "invalid-credentials", /email or password is wrong/);
    expect(wrong.body.errors).toEqual([{ in: "body", path: "password", message: "email or password is wrong" }]);
    for (let i = 1; i < 10; i += 1) expect((await attempt(`guess ${i}`)).status).toBe(401);
    const locked = await attempt("another guess");
    expectProblem(locked, 429, "rate-limited", /too many sign-in attempts; wait \d+ seconds/);
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("refuses a sign-in without an email or password (400, by field) before it takes an attempt", async () => {
    const { uid, cookie } = await started();
    const { formToken } = (await call("GET", uid, { cookie })).body;
    const refused = await call("POST", `${uid}/login`, { cookie, body: { email: " ", password: "", csrf: formToken } });
    expectProblem(refused, 400, "invalid-request", /body is not valid/);
    expect(refused.body.errors.map((error: { path: string }) => error.path).sort()).toEqual(["email", "password"]);
  });

  it("leaves the pages' URLs to the web role: control no longer answers /oauth/interaction/* itself", async () => {
    const { agent, page } = await started();
    const shown = await agent.request("GET", page);
    expect(shown.status).toBe(200);
    expect(shown.headers.get("content-type")).toMatch(/^text\/html/);
    expect(shown.body).toContain("<h1>Sign in to Isola</h1>");
    // Still the authorization server's: its other URLs.
    expect((await fetch(`${instance.issuer}/jwks`)).status).toBe(200);
  });
});
