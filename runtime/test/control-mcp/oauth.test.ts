// The SDK client signs in to Isola's own MCP server through Isola's authorization server, as a
// desktop client (Claude) would after `claude mcp add --transport http isola https://HOST/_isola/mcp`:
// a 401, discovery, registration, the person's sign-in and consent naming Isola, a token whose
// audience is /_isola/mcp, then tools acting as that person. The token is worth nothing at a tenant
// server, a tenant server's token nothing here, and a revoked grant stops it at once.
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageText } from "../support/oauth-agent.ts";
import { claimsOf } from "../support/oauth-client.ts";
import { callServer, type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";
import { SdkOAuthProvider } from "../support/sdk-oauth-provider.ts";
import { post } from "./isola-client.ts";

/** The path and status of each exchange the SDK made. */
function recordingFetch(log: string[]): FetchLike {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    const body = typeof init.body === "string" ? (JSON.parse(init.body) as { method?: string }) : undefined;
    log.push(
      `${init.method ?? "GET"} ${new URL(input).pathname}${body?.method ? ` ${body.method}` : ""} ${response.status}`,
    );
    return response;
  };
}

describe("Isola's MCP server with OAuth", () => {
  let instance: OAuthInstance;
  let owner: Person;
  let provider: SdkOAuthProvider;
  let isolaUrl: string;
  let tenantUrl: string;
  const log: string[] = [];

  beforeAll(async () => {
    instance = await startOAuthInstance();
    owner = await instance.person();
    tenantUrl = await instance.server(owner, "oauth-notes");
    isolaUrl = `${instance.api.url}/_isola/mcp`;
    provider = await SdkOAuthProvider.start({ person: owner, clientName: "Claude Test" });
  }, 120_000);
  afterAll(async () => {
    await provider?.close();
    await instance?.close();
  });

  const connect = () => {
    const transport = new StreamableHTTPClientTransport(new URL(isolaUrl), {
      authProvider: provider,
      fetch: recordingFetch(log),
    });
    return { transport, client: new Client({ name: "claude-test", version: "1.0.0" }) };
  };

  it("signs in through the authorization server and acts as the person who consented", async () => {
    const first = connect();
    await expect(first.client.connect(first.transport)).rejects.toThrow(UnauthorizedError);
    expect(log).toEqual([
      "POST /_isola/mcp initialize 401",
      "GET /.well-known/oauth-protected-resource/_isola/mcp 200",
      "GET /.well-known/oauth-authorization-server/oauth 200",
      "POST /oauth/reg 201",
    ]);
    const [authorization] = provider.authorizations;
    expect(authorization?.url.searchParams.get("resource")).toBe(isolaUrl);
    expect(authorization?.url.searchParams.get("scope")).toBe("mcp:tools");
    const consent = pageText(authorization?.pages[1]?.body ?? "");
    expect(consent).toContain("Allow Claude Test to use Isola?");
    expect(consent).toContain("mcp:tools: connect to Isola and call its tools as you");

    await first.transport.finishAuth(provider.takeCode());
    const tokens = provider.tokens();
    expect(claimsOf(tokens?.access_token ?? "")).toMatchObject({
      aud: isolaUrl,
      sub: owner.userId,
      scope: "mcp:tools",
    });

    const session = connect();
    await session.client.connect(session.transport);
    try {
      const listed = (await session.client.callTool({ name: "list_servers", arguments: {} })) as CallToolResult;
      expect(listed.isError).toBeFalsy();
      const items = (listed.structuredContent?.items ?? []) as { slug: string }[];
      expect(items.map((server) => server.slug)).toEqual(["oauth-notes"]);
      // It acts as the person: their server, their role (owner) lets them deploy.
      const deployed = (await session.client.callTool({
        name: "deploy",
        arguments: { server: "oauth-notes", version: 1 },
      })) as CallToolResult;
      expect(deployed.isError).toBeFalsy();
      const history = (await owner.token.get("servers/oauth-notes/deployments")).body.items;
      expect(history[0].actor).toBe(`${owner.email} (MCP client ${provider.clientInformation()?.client_id})`);
    } finally {
      await session.client.close();
    }
  });

  it("refuses its token at a tenant server, and a tenant server's token here", async () => {
    const token = provider.tokens()?.access_token ?? "";
    const atTenant = await callServer(tenantUrl, token);
    expect(atTenant.status).toBe(401);
    expect(atTenant.challenge).toMatch(/error="invalid_token".*for another resource/);

    // A token for the tenant server: the same person, another client, through the same flow.
    const ownersTenant = await SdkOAuthProvider.start({ person: owner, agent: provider.agent });
    try {
      const transport = new StreamableHTTPClientTransport(new URL(tenantUrl), { authProvider: ownersTenant });
      const client = new Client({ name: "tenant", version: "1.0.0" });
      await expect(client.connect(transport)).rejects.toThrow(UnauthorizedError);
      await transport.finishAuth(ownersTenant.takeCode());
      const tenantToken = ownersTenant.tokens()?.access_token ?? "";
      expect(claimsOf(tenantToken).aud).toBe(tenantUrl);
      const here = await post(
        instance.api,
        { jsonrpc: "2.0", id: 1, method: "initialize", params: {} },
        {
          authorization: `Bearer ${tenantToken}`,
        },
      );
      expect(here.status).toBe(401);
      expect(here.headers.get("www-authenticate")).toMatch(/error="invalid_token".*for another resource/);
    } finally {
      await ownersTenant.close();
    }
  });

  it("stops working when the person revokes the grant", async () => {
    const token = provider.tokens()?.access_token ?? "";
    const grants = (await owner.session.get("me/grants")).body.items as {
      id: string;
      resources: { url: string; server: string | null }[];
    }[];
    const grant = grants.find((item) => item.resources.some((resource) => resource.url === isolaUrl));
    if (!grant) throw new Error("no grant for Isola's MCP server");
    // It is for no tenant server.
    expect(grant.resources).toEqual([{ url: isolaUrl, server: null, scopes: ["mcp:tools"] }]);
    expect((await owner.session.delete(`me/grants/${grant.id}`)).status).toBe(204);
    const answer = await post(
      instance.api,
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } },
      },
      { authorization: `Bearer ${token}` },
    );
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/revoked/);
    expect(JSON.stringify(answer.json?.error)).toMatch(/grant has been revoked/);
  });
});
