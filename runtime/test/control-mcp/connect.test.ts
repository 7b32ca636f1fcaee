// Who may talk to Isola's own MCP server (/_isola/mcp): a personal access token, checked as the
// REST API checks it; without one, or with a bad one, a 401 whose challenge leads an MCP client to
// the protected resource metadata. Sessions are bound to the caller that opened them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newOrg, person, tokenIn } from "../api/orgs-people.ts";
import { type Api, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { connectIsola, INITIALIZE, isolaMcpUrl, post, tokenOf } from "./isola-client.ts";

const TOOLS = [
  "add_declarative_tools",
  "answer_build",
  "cancel_build",
  "create_server_from_brief",
  "delete_server",
  "deploy",
  "deploy_template",
  "get_build",
  "get_server",
  "iterate_server",
  "list_servers",
  "list_templates",
  "pause_server",
  "read_logs",
  "read_usage",
  "resume_server",
  "roll_back",
  "set_secret",
];
const READ_ONLY = ["get_build", "get_server", "list_servers", "list_templates", "read_logs", "read_usage"];
const DESTRUCTIVE = [
  "answer_build",
  "cancel_build",
  "delete_server",
  "deploy",
  "pause_server",
  "roll_back",
  "set_secret",
];

describe("Isola's MCP server: connecting", () => {
  let api: Api;
  let metadataUrl: string;

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    metadataUrl = `${api.url}/.well-known/oauth-protected-resource/_isola/mcp`;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  it("serves its protected resource metadata, naming Isola's authorization server", async () => {
    const response = await fetch(metadataUrl);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: isolaMcpUrl(api),
      authorization_servers: [`${api.url}/oauth`],
      scopes_supported: ["mcp:tools"],
      bearer_methods_supported: ["header"],
      resource_name: "Isola",
    });
  });

  it("refuses a caller without a token with a 401 that points to the metadata", async () => {
    const answer = await post(api, INITIALIZE);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"`);
    expect(answer.json).toMatchObject({ jsonrpc: "2.0", error: { code: -32000, message: /authorization required/ } });
  });

  it.each([
    ["an unknown personal access token", "isola_pat_thisTokenWasNeverIssuedToAnyone"],
    ["a token that is no JWT", "not-a-jwt"],
    ["a JWT nobody signed", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."],
  ])("refuses %s with invalid_token", async (_case, token) => {
    const answer = await post(api, INITIALIZE, { authorization: `Bearer ${token}` });
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(
      new RegExp(`^Bearer resource_metadata="${metadataUrl}", scope="mcp:tools", error="invalid_token"`),
    );
  });

  it("does not take a browser session's cookie instead of a token", async () => {
    const someone = await person(api);
    const answer = await post(api, INITIALIZE, { cookie: someone.session.headers.cookie as string });
    expect(answer.status).toBe(401);
  });

  it("refuses a browser origin other than Isola's own", async () => {
    const answer = await post(api, INITIALIZE, {
      authorization: `Bearer ${api.adminToken}`,
      origin: "https://evil.example",
    });
    expect(answer.status).toBe(403);
  });

  it.each([
    ["text that is not JSON", "text/plain", JSON.stringify(INITIALIZE), 415, -32600],
    ["malformed JSON", "application/json", '{"jsonrpc":', 400, -32700],
  ])("answers %s with a JSON-RPC error", async (_case, type, body, status, code) => {
    const response = await fetch(isolaMcpUrl(api), {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminToken}`, "content-type": type, accept: "application/json" },
      body,
    });
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ jsonrpc: "2.0", error: { code } });
  });

  it("asks for initialize before anything else", async () => {
    const answer = await post(
      api,
      { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
      { authorization: `Bearer ${api.adminToken}` },
    );
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { message: /initialize/ } });
  });

  it("lists its tools to the SDK client, at protocol 2025-11-25, each described and annotated truthfully", async () => {
    const isola = await connectIsola(api, api.adminToken);
    try {
      expect(isola.transport.protocolVersion).toBe("2025-11-25");
      expect(isola.client.getServerVersion()).toMatchObject({ name: "isola" });
      expect(isola.client.getInstructions()).toMatch(/create_server_from_brief/);
      const { tools } = await isola.client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS);
      for (const tool of tools) {
        expect(tool.description?.length, tool.name).toBeGreaterThan(40);
        expect(tool.inputSchema.type).toBe("object");
        expect(tool.annotations?.readOnlyHint ?? false, tool.name).toBe(READ_ONLY.includes(tool.name));
        if (!READ_ONLY.includes(tool.name)) {
          expect(tool.annotations?.destructiveHint, tool.name).toBe(DESTRUCTIVE.includes(tool.name));
        }
        expect(tool.annotations?.openWorldHint).toBe(false);
      }
      // Secrets are never arguments.
      for (const tool of tools) expect(JSON.stringify(tool.inputSchema), tool.name).not.toMatch(/"secrets"|"value"/);
    } finally {
      await isola.close();
    }
  });

  it("binds a session to its caller: another token is told it does not exist", async () => {
    const isola = await connectIsola(api, api.adminToken);
    try {
      const sessionId = isola.transport.sessionId as string;
      const other = await newOrg(api);
      const stranger = tokenOf(await tokenIn(api, other.owner, other.slug));
      const answer = await post(
        api,
        { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
        { authorization: `Bearer ${stranger}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
      );
      expect(answer.status).toBe(404);
      // The owner's session goes on.
      expect((await isola.client.listTools()).tools.length).toBe(TOOLS.length);
    } finally {
      await isola.close();
    }
  });

  it("stops at once when the token is revoked", async () => {
    const created = await api.admin.post("me/tokens", { name: "mcp-revoked" });
    const isola = await connectIsola(api, created.body.token);
    try {
      expect((await isola.call("list_servers")).isError).toBeFalsy();
      expect((await api.admin.delete(`me/tokens/${created.body.id}`)).status).toBe(204);
      await expect(isola.call("list_servers")).rejects.toThrow(/401|unknown, revoked or expired/);
    } finally {
      await isola.close().catch(() => {});
    }
  });

  it("ends a session on DELETE", async () => {
    const isola = await connectIsola(api, api.adminToken);
    const sessionId = isola.transport.sessionId as string;
    await isola.transport.terminateSession();
    const answer = await post(
      api,
      { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} },
      { authorization: `Bearer ${api.adminToken}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
    );
    expect(answer.status).toBe(404);
    await isola.close();
  });
});
