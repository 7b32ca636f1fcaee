// Client ID Metadata Documents: a client whose client_id is an https URL needs no registration;
// the authorization server fetches the document there, under the same policy as a registration.
// A test serves the documents on a loopback address, which only the operator switch
// ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK opens: without it the library's SSRF protection refuses it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopbackHttps, startLoopbackHttps } from "../support/loopback-https.ts";
import { OAuthAgent, pageText } from "../support/oauth-agent.ts";
import { authorizationUrl, claimsOf, exchangeCode, pkce } from "../support/oauth-client.ts";
import { callServer, type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";

const REDIRECT = "http://127.0.0.1:9/callback";

describe("client ID metadata documents", () => {
  let documents: LoopbackHttps;
  const served = new Map<string, { status?: number; headers?: Record<string, string>; body: string }>();
  let instance: OAuthInstance;
  let owner: Person;
  let server: string;

  /** Serves `document` at a path of its own; returns its URL (the client_id). */
  function serve(
    path: string,
    document: (url: string) => unknown,
    answer: { status?: number; headers?: Record<string, string> } = {},
  ) {
    const url = `${documents.origin}${path}`;
    served.set(path, { ...answer, body: JSON.stringify(document(url)) });
    return url;
  }

  const metadata = (url: string) => ({
    client_id: url,
    client_name: "CIMD Client",
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  });

  beforeAll(async () => {
    documents = await startLoopbackHttps((request, response) => {
      const document = served.get(request.url ?? "");
      if (!document) return response.writeHead(404).end();
      response.writeHead(document.status ?? 200, { "content-type": "application/json", ...document.headers });
      response.end(document.body);
    });
    instance = await startOAuthInstance({ ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK: "true" });
    owner = await instance.person();
    server = await instance.server(owner, "cimd-notes");
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
    await documents?.close();
  });

  const authorize = (clientId: string) =>
    authorizationUrl(instance.issuer, {
      client: { client_id: clientId, redirect_uris: [REDIRECT] },
      challenge: pkce().challenge,
      resource: server,
      scope: "mcp:tools",
    });

  it("lets a client named by its document's URL through the whole flow, without registering", async () => {
    const clientId = serve("/good/client.json", metadata);
    const { verifier, challenge } = pkce();
    const client = { client_id: clientId, redirect_uris: [REDIRECT] };
    const { callback, pages } = await new OAuthAgent().authorize(
      authorizationUrl(instance.issuer, { client, challenge, resource: server, scope: "mcp:tools" }),
      owner,
    );
    expect(pageText(pages.at(-1)?.body ?? "")).toContain("Allow CIMD Client to use cimd-notes?");
    const tokens = await exchangeCode(instance.issuer, {
      client,
      code: callback.searchParams.get("code") as string,
      verifier,
    });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(claimsOf(String(tokens.body.access_token))).toMatchObject({ client_id: clientId, aud: server });
    expect((await callServer(server, String(tokens.body.access_token))).status).toBe(200);
    expect(documents.requests).toContain("/good/client.json");
    // Nothing was registered: the document is the registration.
    const stored = await instance.api.stores.db
      .selectFrom("oauth_models")
      .select("id")
      .where("model", "=", "Client")
      .where("id", "=", clientId)
      .execute();
    expect(stored).toEqual([]);
  });

  it.each([
    [
      "names another client_id",
      "/mismatch.json",
      (url: string) => ({ ...metadata(url), client_id: `${url}.other` }),
      {},
      /client_id does not match/,
    ],
    [
      "breaks the redirect URI policy",
      "/evil-redirect.json",
      (url: string) => ({ ...metadata(url), redirect_uris: ["http://evil.example/cb"] }),
      {},
      /http is allowed only for localhost/,
    ],
    [
      "carries a client secret",
      "/secret.json",
      (url: string) => ({ ...metadata(url), client_secret: "s3cret" }),
      {},
      /must not contain client_secret/,
    ],
    [
      "is over 5 KB",
      "/big.json",
      (url: string) => ({ ...metadata(url), client_name: "x".repeat(6000) }),
      {},
      /fetch failed|client_id metadata document/,
    ],
    [
      "answers with a redirect",
      "/moved.json",
      metadata,
      { status: 302, headers: { location: "https://elsewhere.example/" } },
      /fetch failed/,
    ],
  ])("refuses a document that %s", async (_case, path, document, answer, message) => {
    const clientId = serve(path, document, answer);
    const response = await new OAuthAgent().request("GET", authorize(clientId));
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect(pageText(response.body)).toMatch(/invalid_(client|client_metadata|redirect_uri)\b/);
    expect(pageText(response.body)).toMatch(message);
  });

  describe("without the operator switch", () => {
    let strict: OAuthInstance;
    beforeAll(async () => {
      strict = await startOAuthInstance();
    }, 120_000);
    afterAll(async () => {
      await strict?.close();
    });

    it("refuses a document on a loopback address, before asking it for anything", async () => {
      const clientId = serve("/ssrf/client.json", metadata);
      const url = authorizationUrl(strict.issuer, {
        client: { client_id: clientId, redirect_uris: [REDIRECT] },
        challenge: pkce().challenge,
        resource: `${strict.api.url}/any/mcp`,
        scope: "mcp:tools",
      });
      const response = await new OAuthAgent().request("GET", url);
      expect(response.status).toBe(400);
      expect(pageText(response.body)).toMatch(/invalid_client.*fetch failed/);
      expect(documents.requests).not.toContain("/ssrf/client.json");
    });
  });
});
