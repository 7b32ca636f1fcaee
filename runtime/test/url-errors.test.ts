import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "./support/api-harness.ts";
import { inject, quickDatabase } from "./support/mcp.ts";

// URLs the router cannot match (bad percent-encoding, a path segment over its length limit)
// are answered in the format of the role that owns the path, never Fastify's own.

describe("URLs the router refuses", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(quickDatabase());
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  const long = "a".repeat(150);
  it.each([
    { url: `/api/v1/orgs/${long}`, detail: /too long/ },
    { url: "/api/v1/servers/%E0%A4%A", detail: /not valid/ },
    { url: `/api/v1/servers/${long}/versions?x=1`, detail: /too long/ },
  ])("the API answers $url with a problem", async ({ url, detail }) => {
    const answer = await inject(api.app, url, {
      method: "GET",
      headers: { authorization: `Bearer ${api.adminToken}` },
    });
    expect(answer.status).toBe(400);
    expect(answer.contentType).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(answer.text);
    expect(body).toMatchObject({
      type: "urn:isola:problem:invalid-request",
      status: 400,
      detail: expect.stringMatching(detail),
    });
    expect(body.instance).toBe(url.split("?")[0]);
  });

  it.each([`/${long}/mcp`, "/x%ZZ/mcp", `/${long}/sse`, "/bad%E0/messages"])(
    "an MCP endpoint answers %s with a JSON-RPC error",
    async (url) => {
      const answer = await inject(api.app, url, { body: "{}" });
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({
        jsonrpc: "2.0",
        error: { code: -32600, message: expect.stringMatching(/URL/) },
      });
    },
  );

  it("anything else gets a JSON body", async () => {
    const answer = await inject(api.app, "/%E0%A4%A", { method: "GET" });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: "bad_request", message: "the URL is not valid (bad percent-encoding)" });
  });
});
