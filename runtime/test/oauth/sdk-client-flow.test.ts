// The official MCP SDK client (Client + StreamableHTTPClientTransport + an OAuthClientProvider)
// through Isola's authorization end to end, as a desktop client meets it: a 401 without a token,
// discovery (protected resource metadata, then the authorization server's), dynamic registration
// or a Client ID Metadata Document, PKCE with `resource`, sign-in and consent by a person (an
// OAuthAgent), the code exchanged, tools called; a step-up to a tool's scope; a refresh.
//
// What SDK 1.32 does itself: everything above except the step-up. On 403 insufficient_scope its
// transport calls auth() with the wider scope, but auth() refreshes whenever it holds a refresh
// token, and a refresh cannot widen a grant (RFC 6749 section 6), so the retry meets the same 403
// and the SDK gives up (typescript-sdk#2255; its fix, #2356, is not in 1.32.2). The test then
// drives the step-up through the SDK's own exported auth(), as a client on 1.32 has to.
import { createHash } from "node:crypto";
import { auth, extractWWWAuthenticateParams, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopbackHttps, startLoopbackHttps } from "../support/loopback-https.ts";
import { deploySource } from "../support/mcp.ts";
import { formsOf, pageText } from "../support/oauth-agent.ts";
import { claimsOf, refresh } from "../support/oauth-client.ts";
import { callServer, type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";
import { SdkOAuthProvider } from "../support/sdk-oauth-provider.ts";

const NOTES_SOURCE = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "notes",
  tools: {
    read_note: tool({ description: "Reads the note", input: z.object({}), run: () => "the note" }),
    write_note: tool({
      description: "Writes the note",
      input: z.object({ text: z.string() }),
      scopes: ["notes:write"],
      run: ({ text }) => "saved " + text,
    }),
  },
});
`;

/** One HTTP exchange the SDK made (the transport's and auth()'s alike). */
interface Exchange {
  method: string;
  path: string;
  status: number;
  /** The form of a token request. */
  form: URLSearchParams | undefined;
  /** The JSON body: a JSON-RPC message or a registration. */
  json: Record<string, unknown> | undefined;
  challenge: string | null;
}

function recordingFetch(log: Exchange[]): FetchLike {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    log.push({
      method: init.method ?? "GET",
      path: new URL(input).pathname,
      status: response.status,
      form: init.body instanceof URLSearchParams ? new URLSearchParams(init.body) : undefined,
      json: typeof init.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
      challenge: response.headers.get("www-authenticate"),
    });
    return response;
  };
}

const line = (exchange: Exchange) =>
  `${exchange.method} ${exchange.path}${exchange.json?.method ? ` ${exchange.json.method}` : ""} ${exchange.status}`;
const tokenRequests = (log: Exchange[]) => log.filter((exchange) => exchange.path === "/oauth/token");
const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text;
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

/** An SDK client at `url`, through `provider`, every exchange recorded in `log`. */
function sdkClient(url: string, provider: SdkOAuthProvider, log: Exchange[]) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    authProvider: provider,
    fetch: recordingFetch(log),
  });
  return { transport, client: new Client({ name: "sdk-oauth-test", version: "1.0.0" }) };
}

describe("the MCP SDK's OAuth client against Isola", () => {
  let instance: OAuthInstance;
  let documents: LoopbackHttps;
  const served = new Map<string, string>();
  const closing: { close(): Promise<void> }[] = [];
  let owner: Person;
  let notes: string;
  let other: string;

  beforeAll(async () => {
    documents = await startLoopbackHttps((request, response) => {
      const document = served.get(request.url ?? "");
      if (!document) return response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/json" }).end(document);
    });
    instance = await startOAuthInstance({ ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK: "true" });
    owner = await instance.person();
    await deploySource(owner.token, "sdk-notes", NOTES_SOURCE, { authMode: "oauth" });
    notes = `${instance.api.url}/sdk-notes/mcp`;
    other = await instance.server(owner, "sdk-other");
  }, 120_000);
  afterAll(async () => {
    for (const item of closing.reverse()) await item.close();
    await instance?.close();
    await documents?.close();
  });

  describe("with a dynamically registered client", () => {
    const log: Exchange[] = [];
    let provider: SdkOAuthProvider;
    let session: ReturnType<typeof sdkClient>;

    beforeAll(async () => {
      provider = await SdkOAuthProvider.start({ person: owner, clientName: "Notes Desktop" });
      closing.push(provider);
    });

    it("meets a 401, discovers both servers' metadata, registers, has the person sign in and consent, and gets a token for this server only", async () => {
      const first = sdkClient(notes, provider, log);
      await expect(first.client.connect(first.transport)).rejects.toThrow(UnauthorizedError);

      // From the 401 to the browser: the SDK found everything from the challenge.
      expect(log.map(line)).toEqual([
        "POST /sdk-notes/mcp initialize 401",
        "GET /.well-known/oauth-protected-resource/sdk-notes/mcp 200",
        "GET /.well-known/oauth-authorization-server/oauth 200",
        "POST /oauth/reg 201",
      ]);
      expect(log[0]?.challenge).toBe(
        `Bearer resource_metadata="${instance.api.url}/.well-known/oauth-protected-resource/sdk-notes/mcp", scope="mcp:tools"`,
      );
      // It registers the challenge's scope too; Isola drops it (scopes are per server), else it would
      // become the client's allow-list and the step-up below could not widen it.
      expect(log[3]?.json).toMatchObject({ redirect_uris: [provider.redirectUrl], scope: "mcp:tools" });
      const registered = provider.clientInformation();
      expect(registered).toMatchObject({ issuer: instance.issuer, redirect_uris: [provider.redirectUrl] });
      expect(registered?.client_secret).toBeUndefined();

      const [authorization] = provider.authorizations;
      if (!authorization) throw new Error("the SDK sent no one to the authorization server");
      expect(authorization.url.origin + authorization.url.pathname).toBe(`${instance.issuer}/auth`);
      expect(Object.fromEntries(authorization.url.searchParams)).toMatchObject({
        response_type: "code",
        client_id: registered?.client_id,
        redirect_uri: provider.redirectUrl,
        code_challenge_method: "S256",
        resource: notes,
        scope: "mcp:tools",
      });
      // The person signed in, then read a consent naming the client, the server and the scope.
      expect(authorization.pages.map((page) => formsOf(page.body).map((form) => form.action.split("/").pop()))).toEqual(
        [
          ["login", "abort"],
          ["consent", "abort"],
        ],
      );
      const consent = pageText(authorization.pages[1]?.body ?? "");
      expect(consent).toContain("Allow Notes Desktop to use sdk-notes?");
      expect(consent).toContain("mcp:tools: connect to sdk-notes and call its tools as you");
      expect(consent).not.toContain("notes:write");
      expect(authorization.callback.searchParams.get("iss")).toBe(instance.issuer);

      await first.transport.finishAuth(provider.takeCode());
      const exchange = tokenRequests(log).at(-1);
      expect(exchange?.status).toBe(200);
      expect(Object.fromEntries(exchange?.form ?? [])).toMatchObject({
        grant_type: "authorization_code",
        client_id: registered?.client_id,
        redirect_uri: provider.redirectUrl,
        resource: notes,
      });
      // The verifier the SDK kept answers the challenge it sent.
      expect(s256(exchange?.form?.get("code_verifier") ?? "")).toBe(
        authorization.url.searchParams.get("code_challenge"),
      );

      const tokens = provider.tokens();
      expect(tokens).toMatchObject({ token_type: "Bearer", scope: "mcp:tools", issuer: instance.issuer });
      expect(claimsOf(tokens?.access_token ?? "")).toMatchObject({
        iss: instance.issuer,
        aud: notes,
        sub: owner.userId,
        client_id: registered?.client_id,
        scope: "mcp:tools",
      });

      session = sdkClient(notes, provider, log);
      closing.push(session.client);
      await session.client.connect(session.transport);
      const listed = await session.client.listTools();
      expect(listed.tools.map((tool) => tool.name)).toEqual(["read_note", "write_note"]);
      expect(textOf(await session.client.callTool({ name: "read_note", arguments: {} }))).toBe("the note");

      // The same token is worth nothing at another server of the same owner.
      const elsewhere = await callServer(other, tokens?.access_token ?? "");
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.challenge).toMatch(/error="invalid_token".*for another resource/);
    });

    it("steps up to a tool's scope: 403 insufficient_scope, a second consent naming it, then the call", async () => {
      const start = log.length;
      // SDK 1.32 on its own: it refreshes (which cannot widen the scope), meets the same 403, gives up.
      await expect(session.client.callTool({ name: "write_note", arguments: { text: "first" } })).rejects.toThrow(
        /403 after trying upscoping/,
      );
      const refusals = log.slice(start).filter((exchange) => exchange.status === 403);
      expect(refusals.map(line)).toEqual(["POST /sdk-notes/mcp tools/call 403", "POST /sdk-notes/mcp tools/call 403"]);
      const challenge = refusals[0]?.challenge ?? "";
      expect(challenge).toContain('error="insufficient_scope"');
      expect(challenge).toContain('scope="mcp:tools notes:write"');
      expect(tokenRequests(log.slice(start)).map((exchange) => exchange.form?.get("grant_type"))).toEqual([
        "refresh_token",
      ]);
      expect(provider.authorizations).toHaveLength(1);
      expect(provider.tokens()?.scope).toBe("mcp:tools");

      // The step-up, through the SDK's auth() with the challenge's scope; without the tokens, so
      // that it authorizes instead of refreshing.
      const { scope, resourceMetadataUrl } = extractWWWAuthenticateParams(
        new Response(null, { headers: { "www-authenticate": challenge } }),
      );
      expect(scope).toBe("mcp:tools notes:write");
      provider.invalidateCredentials("tokens");
      const result = await auth(provider, {
        serverUrl: notes,
        scope,
        ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}),
        fetchFn: recordingFetch(log),
      });
      expect(result).toBe("REDIRECT");
      const stepUp = provider.authorizations[1];
      expect(stepUp?.url.searchParams.get("scope")).toBe("mcp:tools notes:write");
      expect(stepUp?.url.searchParams.get("resource")).toBe(notes);
      // Signed in already: only the consent page, and it asks for the new scope.
      expect(stepUp?.pages).toHaveLength(1);
      const consent = pageText(stepUp?.pages[0]?.body ?? "");
      expect(consent).toContain("Allow Notes Desktop to use sdk-notes?");
      expect(consent).toContain("notes:write: call the tools that require it: write_note");

      await session.transport.finishAuth(provider.takeCode());
      expect(provider.tokens()?.scope).toBe("mcp:tools notes:write");
      expect(claimsOf(provider.tokens()?.access_token ?? "")).toMatchObject({
        aud: notes,
        scope: "mcp:tools notes:write",
      });
      // The session goes on with the wider token.
      const sessionId = session.transport.sessionId;
      expect(textOf(await session.client.callTool({ name: "write_note", arguments: { text: "second" } }))).toBe(
        "saved second",
      );
      expect(session.transport.sessionId).toBe(sessionId);
    });

    it("refreshes an access token the server refuses, with a refresh token that rotates", async () => {
      const before = provider.tokens();
      if (!before?.refresh_token) throw new Error("no refresh token");
      provider.saveTokens({ ...before, access_token: "expired.access.token" });

      const start = log.length;
      expect(textOf(await session.client.callTool({ name: "write_note", arguments: { text: "third" } }))).toBe(
        "saved third",
      );
      const exchanges = log.slice(start);
      expect(exchanges[0]?.status).toBe(401);
      expect(exchanges[0]?.challenge).toContain('error="invalid_token"');
      expect(exchanges.at(-1) && line(exchanges.at(-1) as Exchange)).toBe("POST /sdk-notes/mcp tools/call 200");
      const [refreshed] = tokenRequests(exchanges);
      expect(refreshed?.status).toBe(200);
      expect(Object.fromEntries(refreshed?.form ?? [])).toMatchObject({
        grant_type: "refresh_token",
        refresh_token: before.refresh_token,
        resource: notes,
      });
      expect(provider.authorizations).toHaveLength(2);

      const after = provider.tokens();
      expect(after?.refresh_token).toBeTruthy();
      expect(after?.refresh_token).not.toBe(before.refresh_token);
      expect(claimsOf(after?.access_token ?? "")).toMatchObject({
        aud: notes,
        scope: "mcp:tools notes:write",
        grant_id: claimsOf(before.access_token).grant_id,
      });
      // The old refresh token is spent (and presenting it again revokes the grant: done last).
      const reused = await refresh(instance.issuer, {
        client: { client_id: provider.clientInformation()?.client_id ?? "", redirect_uris: [provider.redirectUrl] },
        refreshToken: before.refresh_token,
      });
      expect(reused.status).toBe(400);
      expect(reused.body.error).toBe("invalid_grant");
    });
  });

  describe("with a client named by its Client ID Metadata Document", () => {
    const log: Exchange[] = [];
    let person: Person;
    let hello: string;
    let clientId: string;
    let provider: SdkOAuthProvider;
    let session: ReturnType<typeof sdkClient>;

    beforeAll(async () => {
      person = await instance.person();
      hello = await instance.server(person, "sdk-cimd");
      clientId = `${documents.origin}/sdk/client.json`;
      provider = await SdkOAuthProvider.start({ person, clientName: "CIMD Desktop", clientMetadataUrl: clientId });
      closing.push(provider);
      served.set("/sdk/client.json", JSON.stringify({ ...provider.clientMetadata, client_id: clientId }));
    });

    it("uses the document's URL as the client_id, registers nothing, and calls tools", async () => {
      const first = sdkClient(hello, provider, log);
      await expect(first.client.connect(first.transport)).rejects.toThrow(UnauthorizedError);
      expect(log.map(line)).toEqual([
        "POST /sdk-cimd/mcp initialize 401",
        "GET /.well-known/oauth-protected-resource/sdk-cimd/mcp 200",
        "GET /.well-known/oauth-authorization-server/oauth 200",
      ]);
      expect(provider.clientInformation()).toEqual({ client_id: clientId, issuer: instance.issuer });
      const [authorization] = provider.authorizations;
      expect(authorization?.url.searchParams.get("client_id")).toBe(clientId);
      expect(authorization?.url.searchParams.get("resource")).toBe(hello);
      expect(pageText(authorization?.pages.at(-1)?.body ?? "")).toContain("Allow CIMD Desktop to use sdk-cimd?");
      expect(documents.requests).toContain("/sdk/client.json");

      await first.transport.finishAuth(provider.takeCode());
      expect(Object.fromEntries(tokenRequests(log).at(-1)?.form ?? [])).toMatchObject({
        grant_type: "authorization_code",
        client_id: clientId,
        resource: hello,
      });
      expect(claimsOf(provider.tokens()?.access_token ?? "")).toMatchObject({
        aud: hello,
        client_id: clientId,
        sub: person.userId,
        scope: "mcp:tools",
      });

      session = sdkClient(hello, provider, log);
      closing.push(session.client);
      await session.client.connect(session.transport);
      expect(textOf(await session.client.callTool({ name: "hello", arguments: { name: "CIMD" } }))).toBe(
        "Hello, CIMD!",
      );
      // Nothing was registered, over HTTP or in storage: the document is the registration.
      expect(log.some((exchange) => exchange.path === "/oauth/reg")).toBe(false);
      const stored = await instance.api.stores.db
        .selectFrom("oauth_models")
        .select("id")
        .where("model", "=", "Client")
        .where("id", "=", clientId)
        .execute();
      expect(stored).toEqual([]);
    });

    it("refreshes as the document's client, the refresh token rotating", async () => {
      const before = provider.tokens();
      if (!before?.refresh_token) throw new Error("no refresh token");
      provider.saveTokens({ ...before, access_token: "expired.access.token" });
      const start = log.length;
      expect(textOf(await session.client.callTool({ name: "hello", arguments: { name: "again" } }))).toBe(
        "Hello, again!",
      );
      const [refreshed] = tokenRequests(log.slice(start));
      expect(refreshed?.status).toBe(200);
      expect(Object.fromEntries(refreshed?.form ?? [])).toMatchObject({
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: before.refresh_token,
        resource: hello,
      });
      expect(provider.tokens()?.refresh_token).not.toBe(before.refresh_token);
      expect(claimsOf(provider.tokens()?.access_token ?? "")).toMatchObject({ aud: hello, client_id: clientId });
      expect(provider.authorizations).toHaveLength(1);
      expect(log.some((exchange) => exchange.path === "/oauth/reg")).toBe(false);
    });
  });
});
