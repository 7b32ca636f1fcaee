// The authorization code flow with PKCE and a resource indicator, driven over HTTP through the
// real sign-in and consent pages, ending in a token the runtime accepts at that one server; and
// every way a request that should not succeed is refused.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formsOf, OAuthAgent, pageText } from "../support/oauth-agent.ts";
import {
  authorizationUrl,
  claimsOf,
  exchangeCode,
  headerOf,
  pkce,
  type RegisteredClient,
  refresh,
  registerPublicClient,
  tokenRequest,
} from "../support/oauth-client.ts";
import {
  callServer,
  declareScopes,
  type OAuthInstance,
  type Person,
  startOAuthInstance,
} from "../support/oauth-fixtures.ts";

describe("the authorization code flow", () => {
  let instance: OAuthInstance;
  let issuer: string;
  let owner: Person;
  let notes: string;
  let other: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    instance = await startOAuthInstance();
    issuer = instance.issuer;
    owner = await instance.person();
    notes = await instance.server(owner, "flow-notes");
    other = await instance.server(owner, "flow-other");
    client = await registerPublicClient(issuer, { client_name: "Notes Desktop" });
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
  });

  /** A whole authorization for `person` at `resource`; the code exchanged; the token response. */
  async function authorizeAndExchange(
    person: Person,
    resource: string,
    options: { agent?: OAuthAgent; scope?: string; client?: RegisteredClient } = {},
  ) {
    const agent = options.agent ?? new OAuthAgent();
    const used = options.client ?? client;
    const { verifier, challenge } = pkce();
    const state = randomBytes(8).toString("hex");
    const result = await agent.authorize(
      authorizationUrl(issuer, { client: used, challenge, resource, scope: options.scope ?? "mcp:tools", state }),
      person,
    );
    expect(result.callback.searchParams.get("state")).toBe(state);
    const code = result.callback.searchParams.get("code");
    if (!code) throw new Error(`no code: ${result.callback.href}`);
    const tokens = await exchangeCode(issuer, { client: used, code, verifier });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    return { result, tokens: tokens.body as Record<string, string>, agent };
  }

  it("signs in, asks consent naming the server, client, redirect host and scopes, and mints a token for that server", async () => {
    const { result, tokens } = await authorizeAndExchange(owner, notes);

    // The redirect carries the issuer (RFC 9207) to the registered redirect URI.
    expect(result.callback.origin + result.callback.pathname).toBe("http://127.0.0.1:9/callback");
    expect(result.callback.searchParams.get("iss")).toBe(issuer);

    const [login, consent] = result.pages;
    expect(pageText(login?.body ?? "")).toMatch(/Notes Desktop asks to use flow-notes on your behalf/);
    const consentText = pageText(consent?.body ?? "");
    expect(consentText).toContain("Allow Notes Desktop to use flow-notes?");
    expect(consentText).toContain(notes);
    expect(consentText).toContain("Sends you back to http://127.0.0.1:9");
    expect(consentText).toContain("mcp:tools: connect to flow-notes and call its tools as you");
    expect(consentText).toContain(owner.email);
    for (const page of result.pages) {
      // The web app's pages, without a single script (not even React Router's inline data).
      expect(page.body).not.toMatch(/<script/i);
      expect(page.headers.get("referrer-policy")).toBe("same-origin");
      expect(page.headers.get("cache-control")).toBe("no-store");
      expect(page.headers.get("x-frame-options")).toBe("DENY");
      expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    }

    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "mcp:tools" });
    expect(Number(tokens.expires_in)).toBeLessThanOrEqual(600);
    expect(typeof tokens.refresh_token).toBe("string");
    const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(headerOf(tokens.access_token as string)).toMatchObject({
      alg: "ES256",
      typ: "at+jwt",
      kid: jwks.keys[0]?.kid,
    });
    expect(claimsOf(tokens.access_token as string)).toMatchObject({
      iss: issuer,
      aud: notes,
      sub: owner.userId,
      client_id: client.client_id,
      scope: "mcp:tools",
    });

    // The runtime takes it at that server, and at no other.
    expect((await callServer(notes, tokens.access_token as string)).status).toBe(200);
    const elsewhere = await callServer(other, tokens.access_token as string);
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.challenge).toMatch(/error="invalid_token".*for another resource/);
  });

  it("remembers the consent: the same browser goes straight back, a new one only signs in", async () => {
    const { agent } = await authorizeAndExchange(owner, other);
    const again = await authorizeAndExchange(owner, other, { agent });
    expect(again.result.pages).toEqual([]);
    const elsewhere = await authorizeAndExchange(owner, other, { agent: new OAuthAgent() });
    expect(
      elsewhere.result.pages.map((page) => formsOf(page.body).map((form) => form.action.split("/").pop())),
    ).toEqual([["login", "abort"]]);
  });

  it("grants the step-up scopes a server declares, and no scope it does not", async () => {
    const scoped = await instance.server(owner, "flow-scoped");
    await declareScopes(instance.api, "flow-scoped", { hello: ["notes:write"] });
    const { result, tokens } = await authorizeAndExchange(owner, scoped, {
      scope: "mcp:tools notes:write admin:everything",
    });
    expect(tokens.scope).toBe("mcp:tools notes:write");
    expect(claimsOf(tokens.access_token as string).scope).toBe("mcp:tools notes:write");
    expect(pageText(result.pages.at(-1)?.body ?? "")).toContain("notes:write: call the tools that require it: hello");
  });

  it("asks for mcp:tools when a client asks for no scope", async () => {
    const { tokens } = await authorizeAndExchange(owner, notes, { scope: "" });
    expect(tokens.scope).toBe("mcp:tools");
  });

  describe("refuses, at the client's redirect URI with invalid_target, a resource that", () => {
    let keyed: string;
    beforeAll(async () => {
      await instance.server(owner, "flow-keyed");
      await owner.token.patch(
        "servers/flow-keyed",
        { authMode: "api_key" },
        {
          "if-match": String((await owner.token.get("servers/flow-keyed")).headers.etag),
        },
      );
      keyed = `${instance.api.url}/flow-keyed/mcp`;
    });

    it.each([
      ["is missing", () => undefined],
      ["is a server that takes API keys", () => keyed],
      ["names no server", () => `${instance.api.url}/no-such-server/mcp`],
      ["has a trailing slash", () => `${notes}/`],
      ["is the host's root", () => `${instance.api.url}/mcp`],
      ["is another host", () => "https://elsewhere.example/flow-notes/mcp"],
      ["has a query", () => `${notes}?x=1`],
      ["is not a URL", () => "flow-notes"],
    ])("%s", async (_case, resource) => {
      const { challenge } = pkce();
      const url = authorizationUrl(issuer, { client, challenge, scope: "mcp:tools", resource: resource() });
      const response = await new OAuthAgent().request("GET", url);
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get("location") ?? "");
      expect(location.origin).toBe("http://127.0.0.1:9");
      expect(location.searchParams.get("error")).toBe("invalid_target");
      expect(location.searchParams.get("iss")).toBe(issuer);
    });

    it("asks for two servers at once", async () => {
      const { challenge } = pkce();
      const url = authorizationUrl(issuer, { client, challenge, scope: "mcp:tools" });
      url.searchParams.append("resource", notes);
      url.searchParams.append("resource", other);
      const response = await new OAuthAgent().request("GET", url);
      expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("invalid_target");
    });
  });

  describe("access policies", () => {
    it("refuses a user outside the server's org (policy org), and stores no grant for them", async () => {
      const outsider = await instance.person();
      const { challenge } = pkce();
      const result = await new OAuthAgent().authorize(
        authorizationUrl(issuer, { client, challenge, resource: notes, scope: "mcp:tools" }),
        outsider,
      );
      expect(result.callback.searchParams.get("error")).toBe("invalid_target");
      expect(result.callback.searchParams.get("code")).toBeNull();
      const grants = await instance.api.stores.db
        .selectFrom("oauth_models")
        .select("id")
        .where("model", "=", "Grant")
        .where("account_id", "=", outsider.userId)
        .execute();
      expect(grants).toEqual([]);
    });

    it("admits invited emails on an invite list, and any account on an instance-wide server", async () => {
      const invitee = await instance.person();
      const stranger = await instance.person();
      const invited = await instance.server(owner, "flow-invited", {
        accessPolicy: { kind: "invite_list", emails: [invitee.email.toUpperCase()] },
      });
      const open = await instance.server(owner, "flow-open", { accessPolicy: { kind: "instance" } });
      const { tokens } = await authorizeAndExchange(invitee, invited);
      expect((await callServer(invited, tokens.access_token as string)).status).toBe(200);
      const { challenge } = pkce();
      const refused = await new OAuthAgent().authorize(
        authorizationUrl(issuer, { client, challenge, resource: invited, scope: "mcp:tools" }),
        stranger,
      );
      expect(refused.callback.searchParams.get("error")).toBe("invalid_target");
      const openTokens = await authorizeAndExchange(stranger, open);
      expect((await callServer(open, openTokens.tokens.access_token as string)).status).toBe(200);
    });

    it("stops refreshing once the user may no longer use the server", async () => {
      const member = await instance.person();
      const server = await instance.server(owner, "flow-shared", { accessPolicy: { kind: "instance" } });
      const { tokens } = await authorizeAndExchange(member, server);
      await owner.token.patch(
        "servers/flow-shared",
        { accessPolicy: { kind: "org" } },
        {
          "if-match": String((await owner.token.get("servers/flow-shared")).headers.etag),
        },
      );
      const refreshed = await refresh(issuer, { client, refreshToken: tokens.refresh_token as string });
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe("invalid_target");
    });
  });

  describe("PKCE", () => {
    it.each([
      ["no code_challenge", (url: URL) => url.searchParams.delete("code_challenge")],
      ["the plain method", (url: URL) => url.searchParams.set("code_challenge_method", "plain")],
    ])("refuses an authorization request with %s", async (_case, change) => {
      const url = authorizationUrl(issuer, {
        client,
        challenge: pkce().challenge,
        resource: notes,
        scope: "mcp:tools",
      });
      change(url);
      const response = await new OAuthAgent().request("GET", url);
      const location = new URL(response.headers.get("location") ?? "");
      expect(location.searchParams.get("error")).toBe("invalid_request");
      expect(location.searchParams.get("error_description")).toMatch(/PKCE|code_challenge/);
    });

    it("refuses a code with a missing or wrong verifier, and a code used twice", async () => {
      const agent = new OAuthAgent();
      const codeFor = async () => {
        const { verifier, challenge } = pkce();
        const { callback } = await agent.authorize(
          authorizationUrl(issuer, { client, challenge, resource: notes, scope: "mcp:tools" }),
          owner,
        );
        return { code: callback.searchParams.get("code") as string, verifier };
      };
      const first = await codeFor();
      const wrong = await exchangeCode(issuer, { client, code: first.code, verifier: pkce().verifier });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe("invalid_grant");

      const second = await codeFor();
      const missing = await tokenRequest(issuer, {
        grant_type: "authorization_code",
        client_id: client.client_id,
        code: second.code,
        redirect_uri: client.redirect_uris[0] as string,
      });
      expect(missing.status).toBe(400);
      expect(["invalid_grant", "invalid_request"]).toContain(missing.body.error);

      const third = await codeFor();
      const once = await exchangeCode(issuer, { client, code: third.code, verifier: third.verifier });
      expect(once.status).toBe(200);
      const twice = await exchangeCode(issuer, { client, code: third.code, verifier: third.verifier });
      expect(twice.status).toBe(400);
      expect(twice.body.error).toBe("invalid_grant");
      // A code used twice was stolen: what the first use got stops working too.
      const refreshed = await refresh(issuer, { client, refreshToken: String(once.body.refresh_token) });
      expect(refreshed.body.error).toBe("invalid_grant");
    });
  });

  describe("redirects only where the client registered", () => {
    it("shows an error page, and redirects nowhere, for a redirect URI the client did not register", async () => {
      const url = authorizationUrl(issuer, {
        client,
        challenge: pkce().challenge,
        resource: notes,
        scope: "mcp:tools",
      });
      url.searchParams.set("redirect_uri", "https://evil.example/callback");
      const response = await new OAuthAgent().request("GET", url);
      expect(response.status).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      expect(pageText(response.body)).toMatch(/invalid_redirect_uri/);
      expect(response.body).not.toContain("evil.example");
    });

    it("refuses a code exchanged with another redirect URI than it was issued for", async () => {
      const { verifier, challenge } = pkce();
      const loopbackClient = await registerPublicClient(issuer, {
        redirect_uris: ["http://127.0.0.1:9/callback", "http://127.0.0.1:9/other"],
      });
      const { callback } = await new OAuthAgent().authorize(
        authorizationUrl(issuer, { client: loopbackClient, challenge, resource: notes, scope: "mcp:tools" }),
        owner,
      );
      const exchanged = await exchangeCode(issuer, {
        client: loopbackClient,
        code: callback.searchParams.get("code") as string,
        verifier,
        redirectUri: "http://127.0.0.1:9/other",
      });
      expect(exchanged.status).toBe(400);
      expect(exchanged.body.error).toBe("invalid_grant");
    });

    it("ignores return URLs slipped into the interaction pages and forms", async () => {
      const agent = new OAuthAgent();
      const url = authorizationUrl(issuer, {
        client,
        challenge: pkce().challenge,
        resource: notes,
        scope: "mcp:tools",
      });
      const start = await agent.request("GET", url);
      const page = new URL(start.headers.get("location") ?? "", issuer);
      page.searchParams.set("return_to", "https://evil.example/");
      page.searchParams.set("redirect_uri", "https://evil.example/");
      const login = await agent.request("GET", page);
      expect(login.status).toBe(200);
      expect(login.body).not.toContain("evil.example");
      const [form] = formsOf(login.body);
      const signedIn = await agent.request("POST", new URL(form?.action ?? "", issuer), {
        ...form?.fields,
        email: owner.email,
        password: owner.password,
        returnTo: "https://evil.example/",
        redirect_uri: "https://evil.example/",
      });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.get("location")?.startsWith(`${issuer}/auth/`)).toBe(true);
    });
  });

  describe("the pages' forms", () => {
    async function loginPage(agent: OAuthAgent) {
      const url = authorizationUrl(issuer, {
        client,
        challenge: pkce().challenge,
        resource: notes,
        scope: "mcp:tools",
      });
      const start = await agent.request("GET", url);
      const page = await agent.request("GET", new URL(start.headers.get("location") ?? "", issuer));
      const form = formsOf(page.body).find((candidate) => candidate.action.endsWith("/login"));
      if (!form) throw new Error("no sign-in form");
      return { page, form, action: new URL(form.action, issuer) };
    }

    it.each([
      [
        "without its anti-forgery token",
        (fields: Record<string, string>) => ({ ...fields, csrf: "" }),
        {},
        /This form has expired/,
      ],
      [
        "with another interaction's token",
        (fields: Record<string, string>) => ({ ...fields, csrf: "A".repeat(43) }),
        {},
        /This form has expired/,
      ],
      [
        "from another site",
        (fields: Record<string, string>) => fields,
        { origin: "https://evil.example" },
        /This form was refused.*sent from another site/,
      ],
    ])("refuse a sign-in %s", async (_case, change, headers, says) => {
      const agent = new OAuthAgent();
      const { form, action } = await loginPage(agent);
      const response = await agent.request(
        "POST",
        action,
        change({ ...form.fields, email: owner.email, password: owner.password }),
        headers,
      );
      expect(response.status).toBe(403);
      expect(pageText(response.body)).toMatch(says);
      // Nobody signed in: the interaction still asks for it.
      const again = await agent.request("GET", new URL(action.href.replace(/\/login$/, "")));
      expect(formsOf(again.body).map((candidate) => candidate.action.split("/").pop())).toEqual(["login", "abort"]);
    });

    it("refuse a consent without its token, and record no grant", async () => {
      const person = await instance.person();
      const server = await instance.server(person, `flow-${randomBytes(3).toString("hex")}`);
      const agent = new OAuthAgent();
      const url = authorizationUrl(issuer, {
        client,
        challenge: pkce().challenge,
        resource: server,
        scope: "mcp:tools",
      });
      const start = await agent.request("GET", url);
      const login = await agent.request("GET", new URL(start.headers.get("location") ?? "", issuer));
      const [form] = formsOf(login.body);
      const signedIn = await agent.request("POST", new URL(form?.action ?? "", issuer), {
        ...form?.fields,
        email: person.email,
        password: person.password,
      });
      const resumed = await agent.request("GET", signedIn.headers.get("location") ?? "");
      const consentUrl = new URL(resumed.headers.get("location") ?? "", issuer);
      const refused = await agent.request("POST", `${consentUrl.href}/consent`, { csrf: "forged" });
      expect(refused.status).toBe(403);
      const grants = await instance.api.stores.db
        .selectFrom("oauth_models")
        .select("id")
        .where("model", "=", "Grant")
        .where("account_id", "=", person.userId)
        .execute();
      expect(grants).toEqual([]);
    });

    it("send a denied consent back to the client as access_denied", async () => {
      const person = await instance.person();
      const server = await instance.server(person, `flow-${randomBytes(3).toString("hex")}`);
      const { callback } = await new OAuthAgent().authorize(
        authorizationUrl(issuer, { client, challenge: pkce().challenge, resource: server, scope: "mcp:tools" }),
        person,
        { consent: "deny" },
      );
      expect(callback.searchParams.get("error")).toBe("access_denied");
      expect(callback.searchParams.get("code")).toBeNull();
    });

    it("say a wrong password is wrong, and lock the account and the address out after ten attempts", async () => {
      // An account made in the database, with the owner's password: signing up would take an attempt.
      const db = instance.api.stores.db;
      const { password_hash } = await db
        .selectFrom("users")
        .select("password_hash")
        .where("id", "=", owner.userId)
        .executeTakeFirstOrThrow();
      const email = `locked-${randomBytes(4).toString("hex")}@example.com`;
      await db.insertInto("users").values({ email, password_hash }).execute();
      const agent = new OAuthAgent();
      const { form, action } = await loginPage(agent);
      const attempt = (password: string, from = agent, as = email) =>
        from.request("POST", action, { ...form.fields, email: as, password });
      const wrong = await attempt("not the password");
      expect(wrong.status).toBe(401);
      expect(pageText(wrong.body)).toContain("Email or password is wrong.");
      // The email stays filled in; the password does not.
      expect(formsOf(wrong.body)[0]?.fields).toMatchObject({ email, password: "" });
      for (let i = 1; i < 10; i += 1) expect((await attempt(`guess ${i}`)).status).toBe(401);
      const locked = await attempt(owner.password);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(pageText(locked.body)).toMatch(/Too many sign-in attempts/);
      // The email from another address, and another email from this address.
      const elsewhere = new OAuthAgent();
      const other = await loginPage(elsewhere);
      const fromElsewhere = await elsewhere.request("POST", other.action, {
        ...other.form.fields,
        email,
        password: owner.password,
      });
      expect(fromElsewhere.status).toBe(429);
      expect((await attempt(owner.password, agent, owner.email)).status).toBe(429);
    });

    it("escape what a client registered wherever a page shows it", async () => {
      const hostile = await registerPublicClient(issuer, {
        client_name: `<script>alert("name")</script><img src=x onerror=alert(1)>`,
      });
      const agent = new OAuthAgent();
      const url = authorizationUrl(issuer, {
        client: hostile,
        challenge: pkce().challenge,
        resource: notes,
        scope: "mcp:tools",
      });
      const start = await agent.request("GET", url);
      const page = await agent.request("GET", new URL(start.headers.get("location") ?? "", issuer));
      expect(page.body).not.toContain("<script>");
      expect(page.body).not.toContain("<img");
      expect(page.body).toContain("&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;");
    });
  });
});
