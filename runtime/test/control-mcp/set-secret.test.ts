// Secrets through Isola's MCP server: never a tool argument, never a form. set_secret (and
// deploy_template for a template's secrets) sends the user to a page of Isola's own (URL-mode
// elicitation); the browser posts the value to Isola as the same user; it goes to the vault,
// encrypted, and appears in no result, log line, audit entry or Bus key once the call is done. A
// client without URL mode is told where the user sets it instead.
import { randomBytes } from "node:crypto";
import { createSecretVault, loadSecretKey } from "@isola/control";
import type { ElicitRequestParams, ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { connectIsola, dataOf, enterOnPage, postValues, requestIdOf, textOf, urlParams } from "./isola-client.ts";

describe("Isola's MCP server: secrets by URL-mode elicitation", () => {
  let api: Api;
  const slug = "secret-hello";
  /** Every key and value written to the Bus (the real one, watched), to see what stays and what leaked. */
  const written: { key: string; value: string }[] = [];

  beforeAll(async () => {
    // No web role: these tests play the page themselves, through the API.
    api = await startApi(quickDatabase(), { ISOLA_ROLES: "runtime,control" }, { listen: true });
    await deployHello(api.admin, slug);
    const bus = api.stores.bus;
    const set = bus.set.bind(bus);
    bus.set = (key, value, options) => {
      written.push({ key, value });
      return set(key, value, options);
    };
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  const vault = () => createSecretVault({ db: api.stores.db, key: loadSecretKey(api.config, { warn: () => {} }) });
  const serverId = async (server: string) =>
    (await api.stores.db.selectFrom("servers").select("id").where("slug", "=", server).executeTakeFirstOrThrow()).id;
  const secretNames = async (server: string) =>
    ((await api.admin.get(`servers/${server}/secrets`)).body.items as { name: string; set: boolean }[])
      .filter((item) => item.set)
      .map((item) => item.name);

  it("set_secret sends the user to Isola's page; the value posted there is stored encrypted, nowhere else", async () => {
    const value = `sk-live-${randomBytes(18).toString("base64url")}`;
    const other = await api.signup();
    const seen: Record<string, unknown> = {};
    const isola = await connectIsola(api, api.adminToken, {
      elicit: async (params) => {
        const url = urlParams(params).url;
        const id = requestIdOf(url);
        // The page reads the request as the same user; nobody else learns it exists.
        seen.get = await api.admin.get(`secret-requests/${id}`);
        seen.otherGet = (await other.session.get(`secret-requests/${id}`)).status;
        seen.otherPost = (
          await other.session.post(`secret-requests/${id}`, { values: { WEATHER_API_KEY: "x" } })
        ).status;
        return enterOnPage(api.adminToken, { WEATHER_API_KEY: value })(params);
      },
    });
    try {
      const result = await isola.call("set_secret", { server: slug, name: "WEATHER_API_KEY" });
      expect(dataOf(result)).toMatchObject({ name: "WEATHER_API_KEY", revision: 1 });
      expect(textOf(result)).toContain("WEATHER_API_KEY is set on secret-hello");

      expect(isola.elicitations).toHaveLength(1);
      const asked = urlParams(isola.elicitations[0]);
      const id = asked.elicitationId;
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(asked).toMatchObject({
        mode: "url",
        url: `${api.url}/secret-requests/${id}`,
        message: expect.stringContaining("WEATHER_API_KEY for the server secret-hello"),
      });
      expect(seen.get).toMatchObject({
        status: 200,
        headers: { "cache-control": "no-store" },
        body: {
          id,
          message: asked.message,
          fields: [{ name: "WEATHER_API_KEY", required: true, description: expect.stringContaining("ctx.env") }],
          expiresAt: expect.any(String),
        },
      });
      expect(seen.otherGet).toBe(404);
      expect(seen.otherPost).toBe(404);
      // The client is told the page's interaction is complete (on the call's stream, before its result).
      expect(isola.completions).toEqual([id]);

      // In the vault, encrypted; the code gets it back.
      expect(await vault().envFor(await serverId(slug))).toMatchObject({ WEATHER_API_KEY: value });
      const stored = JSON.stringify(await api.stores.db.selectFrom("secrets").selectAll().execute());
      expect(stored).not.toContain(value);
      expect(stored).not.toContain(Buffer.from(value).toString("base64"));
      // Nowhere else: not in a result, a log line, the audit log, or the Bus (sealed there, and gone now).
      expect(JSON.stringify(result)).not.toContain(value);
      expect(api.logs.join("\n")).not.toContain(value);
      const audit = await api.stores.db.selectFrom("audit_log").selectAll().execute();
      expect(audit.filter((row) => row.action === "secret.set").map((row) => row.detail)).toContainEqual({
        name: "WEATHER_API_KEY",
      });
      expect(JSON.stringify(audit)).not.toContain(value);
      const ours = written.filter((entry) => entry.key.includes(id));
      expect(ours.length).toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(ours)).not.toContain(value);
      for (const entry of ours) expect(await api.stores.bus.get(entry.key)).toBeUndefined();
      // Single use: the request is gone once answered.
      expect((await api.admin.get(`secret-requests/${id}`)).status).toBe(404);
      expect((await postValues(asked.url, api.adminToken, { WEATHER_API_KEY: "again" })).status).toBe(404);
    } finally {
      await isola.close();
    }
  });

  it("answers a second POST, a missing required value and an unknown name as the API should", async () => {
    let outcome: Record<string, { status: number; body: Record<string, unknown> }> = {};
    const isola = await connectIsola(api, api.adminToken, {
      elicit: async (params) => {
        const url = urlParams(params).url;
        outcome = {
          missing: await postValues(url, api.adminToken, {}),
          unknown: await postValues(url, api.adminToken, { SECOND_TOKEN: "v", EXTRA_TOKEN: "w" }),
          empty: await postValues(url, api.adminToken, { SECOND_TOKEN: "" }),
          first: await postValues(url, api.adminToken, { SECOND_TOKEN: "first-value" }),
          second: await postValues(url, api.adminToken, { SECOND_TOKEN: "second-value" }),
        };
        return { action: "accept" };
      },
    });
    try {
      const result = await isola.call("set_secret", { server: slug, name: "SECOND_TOKEN" });
      expect(dataOf(result)).toMatchObject({ name: "SECOND_TOKEN" });
      expect(outcome.missing).toMatchObject({
        status: 400,
        body: { errors: [{ path: "values.SECOND_TOKEN", message: "SECOND_TOKEN is required" }] },
      });
      expect(outcome.unknown).toMatchObject({
        status: 400,
        body: { errors: [{ path: "values.EXTRA_TOKEN", message: "this request does not ask for EXTRA_TOKEN" }] },
      });
      expect(outcome.empty?.status).toBe(400);
      expect(outcome.first).toMatchObject({ status: 200, body: { received: ["SECOND_TOKEN"] } });
      expect(outcome.second?.status).toBe(404);
      // The first answer is the one stored.
      expect(await vault().envFor(await serverId(slug))).toMatchObject({ SECOND_TOKEN: "first-value" });
    } finally {
      await isola.close();
    }
  });

  it.each([
    ["declines", { action: "decline" as const }, /the user declined to give the value/],
    ["cancels", { action: "cancel" as const }, /the user cancelled before giving every required value/],
  ])("stores nothing when the user %s, and the page's request is gone", async (_case, reply, message) => {
    const isola = await connectIsola(api, api.adminToken, { elicit: () => reply });
    try {
      const result = await isola.call("set_secret", { server: slug, name: "DECLINED_TOKEN" });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(await secretNames(slug)).not.toContain("DECLINED_TOKEN");
      const url = urlParams(isola.elicitations[0]).url;
      expect((await api.admin.get(`secret-requests/${requestIdOf(url)}`)).status).toBe(404);
      expect(isola.completions).toEqual([]);
    } finally {
      await isola.close();
    }
  });

  it("an expired request cannot be answered, and the waiting call says so", async () => {
    let late = 0;
    const isola = await connectIsola(api, api.adminToken, {
      elicit: async (params) => {
        const url = urlParams(params).url;
        // What the Bus's TTL does after 10 minutes.
        await api.stores.bus.delete(`secret-request:${requestIdOf(url)}`);
        late = (await postValues(url, api.adminToken, { EXPIRED_TOKEN: "too-late" })).status;
        return { action: "accept" };
      },
    });
    try {
      const result = await isola.call("set_secret", { server: slug, name: "EXPIRED_TOKEN" });
      expect(late).toBe(404);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/nobody answered on Isola's page within 5 minutes, so nothing was stored/);
      expect(await secretNames(slug)).not.toContain("EXPIRED_TOKEN");
    } finally {
      await isola.close();
    }
  });

  it.each([
    ["no elicitation at all", {}],
    [
      "forms only",
      { elicit: (): ElicitResult => ({ action: "accept", content: { NO_URL_TOKEN: "x" } }), modes: ["form" as const] },
    ],
  ])("a client with %s is sent to the secrets page, never shown a form", async (_case, options) => {
    const isola = await connectIsola(api, api.adminToken, options);
    try {
      const result = await isola.call("set_secret", { server: slug, name: "NO_URL_TOKEN" });
      expect(result.isError).toBe(true);
      const text = textOf(result);
      expect(text).toContain("cannot open a page for the user (it did not declare URL-mode elicitation)");
      expect(text).toContain(`${api.url}/servers/${slug}/secrets`);
      expect(text).toContain(`printf '%s' "$NO_URL_TOKEN" | isola secrets set ${slug} NO_URL_TOKEN`);
      expect(text).toContain(`PUT ${api.url}/api/v1/servers/${slug}/secrets/NO_URL_TOKEN`);
      expect(isola.elicitations).toEqual([]);
      expect(await secretNames(slug)).not.toContain("NO_URL_TOKEN");
    } finally {
      await isola.close();
    }
  });

  it.each([
    ["a name that is no secret name", { server: slug, name: "lower_case" }, /Input validation error/],
    ["a value as an argument", { server: slug, name: "X_TOKEN", value: "leaked" }, /Input validation error/],
    ["an unknown server", { server: "no-such-server", name: "X_TOKEN" }, /no server called no-such-server/],
  ])("refuses %s without asking anything", async (_case, args, message) => {
    const isola = await connectIsola(api, api.adminToken, { elicit: () => ({ action: "accept" }) });
    try {
      const result = await isola.call("set_secret", args);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(isola.elicitations).toEqual([]);
    } finally {
      await isola.close();
    }
  });

  it("deploy_template asks for the template's secrets on Isola's page and stores them with the new server", async () => {
    const token = `ghp_${randomBytes(16).toString("hex")}`;
    let fields: unknown;
    const isola = await connectIsola(api, api.adminToken, {
      elicit: async (params: ElicitRequestParams) => {
        fields = (await api.admin.get(`secret-requests/${requestIdOf(urlParams(params).url)}`)).body.fields;
        return enterOnPage(api.adminToken, { GITHUB_TOKEN: token })(params);
      },
    });
    try {
      const result = await isola.call("deploy_template", { template: "github-issues", slug: "secret-github" });
      expect(dataOf(result).server).toMatchObject({ slug: "secret-github", status: "live" });
      // Optional in this template, with how to get one.
      expect(fields).toEqual([
        expect.objectContaining({ name: "GITHUB_TOKEN", required: false, howToGet: expect.any(String) }),
      ]);
      expect(isola.completions).toHaveLength(1);
      expect(await vault().envFor(await serverId("secret-github"))).toMatchObject({ GITHUB_TOKEN: token });
      expect(api.logs.join("\n")).not.toContain(token);
    } finally {
      await isola.close();
    }
  });
});
