import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corsHeaders, preflight } from "../../src/mcp/protocol/cors.ts";
import { type Api, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { deploySource, initializeRequest, inject, quickDatabase, updateServer } from "../support/mcp.ts";

// Browser-based MCP clients on the origins a server allows: preflight, and the headers that let
// the page read the session id and the auth challenge. Never "*", never credentials.

const policy = { ownOrigin: "https://isola.test", allowedOrigins: ["https://app.example.com"] };

describe("CORS policy (pure)", () => {
  it.each([
    { origin: undefined, allowed: false },
    { origin: "https://app.example.com", allowed: true },
    { origin: "https://APP.example.com/", allowed: true },
    { origin: "https://isola.test", allowed: true },
    { origin: "https://evil.example.com", allowed: false },
    { origin: "null", allowed: false },
  ])("headers for Origin $origin: allowed=$allowed", ({ origin, allowed }) => {
    const headers = corsHeaders(origin, policy);
    if (!allowed) return expect(headers).toEqual({});
    expect(headers["access-control-allow-origin"]).toBe(origin);
    expect(headers["access-control-expose-headers"]).toContain("mcp-session-id");
    expect(headers["access-control-expose-headers"]).toContain("www-authenticate");
    expect(headers).not.toHaveProperty("access-control-allow-credentials");
    expect(headers.vary).toBe("Origin");
  });

  it.each([
    { origin: "https://app.example.com", method: "POST", result: 204 },
    { origin: "https://app.example.com", method: "delete", result: 204 },
    { origin: "https://app.example.com", method: undefined, result: 204 },
    { origin: "https://app.example.com", method: "PUT", result: 403 },
    { origin: "https://evil.example.com", method: "POST", result: 403 },
    { origin: undefined, method: "POST", result: 400 },
  ])("preflight from $origin for $method: $result", ({ origin, method, result }) => {
    const answer = preflight(origin, method, ["GET", "POST", "DELETE"], policy);
    expect(answer.ok ? 204 : answer.status).toBe(result);
    if (answer.ok) {
      expect(answer.headers["access-control-allow-methods"]).toBe("GET, POST, DELETE");
      expect(answer.headers["access-control-allow-headers"]).toContain("mcp-protocol-version");
      expect(answer.headers["access-control-allow-headers"]).toContain("authorization");
    } else {
      expect(answer.message.length).toBeGreaterThan(10);
    }
  });
});

describe("CORS at a server's endpoint", () => {
  let api: Api;
  const app = { origin: "https://app.example.com" };
  beforeAll(async () => {
    api = await startApi(quickDatabase(), { PUBLIC_URL: "https://isola.test", ISOLA_MCP_DOMAIN: "mcp.test" });
    await deploySource(api.admin, "browser", HELLO_SOURCE, { authMode: "api_key" });
    await updateServer(api.admin, "browser", { allowedOrigins: ["https://app.example.com"] });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("answers a preflight from an allowed origin with the methods and headers MCP needs", async () => {
    for (const url of ["/browser/mcp", "/browser/messages"]) {
      const answer = await inject(api.app, url, {
        method: "OPTIONS",
        headers: { ...app, "access-control-request-method": "POST", "access-control-request-headers": "x-api-key" },
      });
      expect(answer.status, url).toBe(204);
      expect(answer.headers["access-control-allow-origin"]).toBe("https://app.example.com");
      expect(answer.headers["access-control-allow-headers"]).toContain("x-api-key");
    }
  });

  it("refuses a preflight from another origin, for a method the endpoint lacks, and for an unknown server", async () => {
    const evil = await inject(api.app, "/browser/mcp", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" },
    });
    expect(evil.status).toBe(403);
    expect(evil.json.error.message).toContain("evil.example.com");
    expect(evil.headers).not.toHaveProperty("access-control-allow-origin");
    const put = await inject(api.app, "/browser/sse", {
      method: "OPTIONS",
      headers: { ...app, "access-control-request-method": "POST" },
    });
    expect(put.status).toBe(403);
    const unknown = await inject(api.app, "/nobody/mcp", {
      method: "OPTIONS",
      headers: { ...app, "access-control-request-method": "POST" },
    });
    expect(unknown.status).toBe(404);
  });

  it("lets the page read the auth challenge of a refused call, and nothing for a foreign origin", async () => {
    const refused = await inject(api.app, "/browser/mcp", { body: JSON.stringify(initializeRequest()), headers: app });
    expect(refused.status).toBe(401);
    expect(refused.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(refused.headers["access-control-expose-headers"]).toContain("www-authenticate");
    const foreign = await inject(api.app, "/browser/mcp", {
      body: JSON.stringify(initializeRequest()),
      headers: { origin: "https://evil.example.com" },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers).not.toHaveProperty("access-control-allow-origin");
  });

  it("lets the page read the session id of an initialize", async () => {
    const key = await api.admin.post("servers/browser/keys", { name: "page" });
    expect(key.status).toBe(201);
    const opened = await inject(api.app, "/browser/mcp", {
      body: JSON.stringify(initializeRequest()),
      headers: { ...app, "x-api-key": key.body.key },
    });
    expect(opened.status).toBe(200);
    expect(opened.headers["mcp-session-id"]).toBeTruthy();
    expect(opened.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(opened.headers["access-control-expose-headers"]).toContain("mcp-session-id");
  });

  it("names host-routed resources with the public URL's scheme, even when the request arrived over http", async () => {
    await updateServer(api.admin, "browser", { authMode: "oauth" });
    const challenge = await inject(api.app, "/mcp", {
      body: JSON.stringify(initializeRequest()),
      headers: { host: "browser.mcp.test" },
    });
    expect(challenge.status).toBe(401);
    expect(challenge.headers["www-authenticate"]).toContain(
      'resource_metadata="https://browser.mcp.test/.well-known/oauth-protected-resource/mcp"',
    );
    const metadata = await inject(api.app, "/.well-known/oauth-protected-resource/mcp", {
      method: "GET",
      headers: { host: "browser.mcp.test" },
    });
    expect(metadata.json.resource).toBe("https://browser.mcp.test/mcp");
  });
});
