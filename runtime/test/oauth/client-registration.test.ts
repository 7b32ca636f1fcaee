// Who may register a client, and with what: open dynamic registration (RFC 7591) under Isola's
// policy (redirect URIs https or loopback, custom schemes only for native apps, bounded names and
// URIs without control characters), a per-address limit, and the operator's clients file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyClientPolicy, parseClients, redirectUriProblem } from "@isola/control/oauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../support/oauth-client.ts";
import { type OAuthInstance, startOAuthInstance } from "../support/oauth-fixtures.ts";

describe("the redirect URI policy", () => {
  it.each([
    ["https://app.example.com/callback", "web", null],
    ["http://localhost:33418/callback", "web", null],
    ["http://127.0.0.1:9/cb", "web", null],
    ["http://[::1]:8080/cb", "native", null],
    ["cursor://anysphere.cursor-retrieval/oauth/callback", "native", null],
    ["vscode://vscode.github-authentication/did-authenticate", "native", null],
    ["com.example.app:/oauth2redirect", "native", null],
    ["http://app.example.com/callback", "web", /http is allowed only for localhost/],
    ["http://192.168.1.10/cb", "native", /http is allowed only for localhost/],
    ["cursor://anysphere.cursor-retrieval/oauth/callback", "web", /custom scheme needs "application_type": "native"/],
    ["cursor://anysphere.cursor-retrieval/oauth/callback", undefined, /custom scheme needs/],
    ["javascript:alert(1)", "native", /javascript scheme is not allowed/],
    ["data:text/html,hi", "native", /data scheme is not allowed/],
    ["file:///etc/passwd", "native", /file scheme is not allowed/],
    ["https://app.example.com/cb#frag", "web", /has a fragment/],
    ["https://user:pw@app.example.com/cb", "web", /carries credentials/],
    ["not a uri", "web", /not an absolute URI/],
    [`https://app.example.com/${"a".repeat(2000)}`, "web", /longer than 2000/],
    ["https://app.example.com/\u0007", "web", /control character/],
    [42, "web", /must be strings/],
  ])("%s (%s)", (uri, applicationType, expected) => {
    const problem = redirectUriProblem(uri, applicationType);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });
});

describe("the client metadata policy", () => {
  const good = { redirect_uris: ["https://app.example.com/cb"] };
  it.each([
    [{ ...good, client_name: "x".repeat(101) }, /client_name is longer than 100/],
    [{ ...good, client_name: "Evil\nClient" }, /client_name contains a control character/],
    [{ ...good, client_name: "Evil\u202eClient" }, null],
    [{ ...good, client_name: 7 }, /client_name must be a string/],
    [{ ...good, logo_uri: `https://x.example/${"l".repeat(2000)}` }, /logo_uri is longer than 2000/],
    [{ ...good, client_uri: "https://x.example/\u0000" }, /client_uri contains a control character/],
    [
      { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example.com/${i}`) },
      /at most 10 redirect URIs/,
    ],
    [
      {
        ...good,
        contacts: [
          "a@example.com",
          "b@example.com",
          "c@example.com",
          "d@example.com",
          "e@example.com",
          "f@example.com",
        ],
      },
      /at most 5 contacts/,
    ],
    [{ ...good, client_name: "Fine" }, null],
  ])("%#: %j", (metadata, expected) => {
    const refusal = applyClientPolicy({ ...metadata });
    if (expected === null) expect(refusal).toBeNull();
    else expect(refusal?.description).toMatch(expected);
  });

  it("drops a registered scope (scopes are the servers', per resource)", () => {
    const metadata: Record<string, unknown> = { ...good, scope: "mcp:tools openid" };
    expect(applyClientPolicy(metadata)).toBeNull();
    expect(metadata).not.toHaveProperty("scope");
  });
});

describe("the operator's clients file", () => {
  it.each([
    ["[", /not valid JSON/],
    ['{"client_id":"x"}', /expected a JSON array of client metadata/],
    ['[{"redirect_uris":["https://a.example/cb"]}]', /\[0\]\.client_id/],
    ['[{"client_id":"a b","redirect_uris":["https://a.example/cb"]}]', /client_id: 1-200 letters/],
    ['[{"client_id":"ci","redirect_uris":[]}]', /redirect_uris/],
    [
      '[{"client_id":"ci","redirect_uris":["https://a.example/cb"]},{"client_id":"ci","redirect_uris":["https://b.example/cb"]}]',
      /\[1\]\.client_id: used twice/,
    ],
    [
      '[{"client_id":"ci","redirect_uris":["http://a.example/cb"]}]',
      /\[0\] \(ci\): .*http is allowed only for localhost/,
    ],
  ])("refuses %s", (text, message) => {
    const result = parseClients(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(message);
  });

  it("accepts client metadata with its own client_id", () => {
    const result = parseClients(
      '[{"client_id":"ci-bot","client_secret":"s3cret-s3cret-s3cret-s3cret-s3cret","redirect_uris":["https://ci.example/cb"]}]',
    );
    expect(result.ok && result.clients.map((client) => client.client_id)).toEqual(["ci-bot"]);
  });
});

describe("dynamic client registration", () => {
  let instance: OAuthInstance;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "isola-clients-"));
    const file = join(dir, "clients.json");
    writeFileSync(
      file,
      JSON.stringify([
        {
          client_id: "operator-client",
          client_name: "Operator's client",
          redirect_uris: ["https://tools.example.com/callback"],
          token_endpoint_auth_method: "none",
        },
      ]),
    );
    instance = await startOAuthInstance({ ISOLA_OAUTH_CLIENTS_FILE: file });
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["a web client on https", { redirect_uris: ["https://app.example.com/callback"] }],
    [
      "a desktop client on a loopback port",
      { redirect_uris: ["http://localhost:33418/callback"], token_endpoint_auth_method: "none" },
    ],
    [
      "Cursor",
      {
        redirect_uris: ["cursor://anysphere.cursor-retrieval/oauth/callback"],
        application_type: "native",
        token_endpoint_auth_method: "none",
      },
    ],
    [
      "VS Code",
      {
        redirect_uris: ["vscode://vscode.github-authentication/did-authenticate", "http://127.0.0.1:33418/"],
        application_type: "native",
        token_endpoint_auth_method: "none",
      },
    ],
  ])("registers %s", async (_name, metadata) => {
    const registered = await register(instance.issuer, { client_name: "A client", ...metadata });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body).toMatchObject({ redirect_uris: metadata.redirect_uris, client_name: "A client" });
    expect(typeof registered.body.client_id).toBe("string");
    // No registration access token: registrations cannot be read back or changed.
    expect(registered.body).not.toHaveProperty("registration_access_token");
  });

  it("stores no scope for a client that registers one, so that step-up scopes stay open to it", async () => {
    const registered = await register(instance.issuer, {
      redirect_uris: ["https://app.example.com/callback"],
      scope: "mcp:tools openid",
    });
    expect(registered.status).toBe(201);
    expect(registered.body).not.toHaveProperty("scope");
  });

  it.each([
    [
      "an http redirect URI off this machine",
      { redirect_uris: ["http://evil.example/cb"] },
      "invalid_redirect_uri",
      /http is allowed only for localhost/,
    ],
    [
      "a custom scheme for a web client",
      { redirect_uris: ["cursor://x/cb"] },
      "invalid_redirect_uri",
      /custom scheme needs/,
    ],
    [
      "a javascript: redirect URI",
      { redirect_uris: ["javascript:alert(1)//"], application_type: "native" },
      "invalid_redirect_uri",
      /javascript scheme/,
    ],
    ["no redirect URI", { redirect_uris: [] }, "invalid_redirect_uri", /redirect_uris/],
    [
      "eleven redirect URIs",
      { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) },
      "invalid_redirect_uri",
      /at most 10/,
    ],
    [
      "a name of 101 characters",
      { redirect_uris: ["https://a.example/cb"], client_name: "n".repeat(101) },
      "invalid_client_metadata",
      /client_name is longer than 100/,
    ],
    [
      "a name with a line break",
      { redirect_uris: ["https://a.example/cb"], client_name: "Trusted\r\nAdmin" },
      "invalid_client_metadata",
      /control character/,
    ],
    [
      "a NUL in the name",
      { redirect_uris: ["https://a.example/cb"], client_name: "a\u0000b" },
      "invalid_client_metadata",
      /control character/,
    ],
    [
      "the implicit flow",
      { redirect_uris: ["https://a.example/cb"], response_types: ["token"] },
      "invalid_client_metadata",
      /response_types/,
    ],
    [
      "client credentials",
      { redirect_uris: ["https://a.example/cb"], grant_types: ["client_credentials"] },
      "invalid_client_metadata",
      /grant_types/,
    ],
  ])("refuses %s", async (_name, metadata, error, description) => {
    const before = await instance.api.stores.db
      .selectFrom("oauth_models")
      .select("id")
      .where("model", "=", "Client")
      .execute();
    const registered = await register(instance.issuer, metadata);
    expect(registered.status).toBe(400);
    expect(registered.body.error).toBe(error);
    expect(String(registered.body.error_description)).toMatch(description);
    const after = await instance.api.stores.db
      .selectFrom("oauth_models")
      .select("id")
      .where("model", "=", "Client")
      .execute();
    expect(after).toHaveLength(before.length);
  });

  it("limits registrations per address: 20, then 429 with Retry-After, while other addresses go on", async () => {
    const registerFrom = (remoteAddress: string) =>
      instance.api.app.inject({
        method: "POST",
        url: "/oauth/reg",
        remoteAddress,
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({ redirect_uris: ["https://a.example/cb"] }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 21; i += 1) statuses.push((await registerFrom("10.1.2.3")).statusCode);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(201));
    const refused = await registerFrom("10.1.2.3");
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ error: "too_many_requests" });
    expect((await registerFrom("10.1.2.4")).statusCode).toBe(201);
  });

  it("knows the operator's clients from the file, and they follow the same flow", async () => {
    const url = new URL(`${instance.issuer}/auth`);
    for (const [name, value] of Object.entries({
      response_type: "code",
      client_id: "operator-client",
      redirect_uri: "https://tools.example.com/callback",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      resource: `${instance.api.url}/nothing-here/mcp`,
    }))
      url.searchParams.set(name, value);
    const response = await fetch(url, { redirect: "manual" });
    // A known client: the error (no such server) goes back to its redirect URI, with the issuer.
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.origin + location.pathname).toBe("https://tools.example.com/callback");
    expect(location.searchParams.get("error")).toBe("invalid_target");
    expect(location.searchParams.get("iss")).toBe(instance.issuer);
  });
});
