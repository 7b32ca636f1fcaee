// Secrets through Isola's MCP server: never a tool argument. set_secret (and deploy_template for a
// template's secrets) asks the user with an elicitation form; the value goes to the vault, encrypted,
// and appears in no result, log line or audit entry. A client without forms is told how else to do it.
import { randomBytes } from "node:crypto";
import { createSecretVault, loadSecretKey } from "@isola/control";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, deployHello, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { connectIsola, dataOf, textOf } from "./isola-client.ts";

describe("Isola's MCP server: secrets by elicitation", () => {
  let api: Api;
  const slug = "secret-hello";

  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    await deployHello(api.admin, slug);
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

  it("set_secret asks for the value in a one-field form and stores it encrypted, nowhere else", async () => {
    const value = `sk-live-${randomBytes(18).toString("base64url")}`;
    const isola = await connectIsola(api, api.adminToken, {
      elicit: () => ({ action: "accept", content: { WEATHER_API_KEY: value } }),
    });
    try {
      const result = await isola.call("set_secret", { server: slug, name: "WEATHER_API_KEY" });
      expect(dataOf(result)).toMatchObject({ name: "WEATHER_API_KEY", revision: 1 });
      expect(textOf(result)).toContain("WEATHER_API_KEY is set on secret-hello");

      expect(isola.forms).toHaveLength(1);
      expect(isola.forms[0]).toMatchObject({
        mode: "form",
        message: expect.stringContaining("WEATHER_API_KEY for the server secret-hello"),
        requestedSchema: {
          type: "object",
          properties: { WEATHER_API_KEY: { type: "string", title: "WEATHER_API_KEY", minLength: 1 } },
          required: ["WEATHER_API_KEY"],
        },
      });
      expect(Object.keys(isola.forms[0]?.requestedSchema?.properties ?? {})).toEqual(["WEATHER_API_KEY"]);

      // In the vault, encrypted; the code gets it back.
      expect(await vault().envFor(await serverId(slug))).toMatchObject({ WEATHER_API_KEY: value });
      const rows = await api.stores.db.selectFrom("secrets").selectAll().execute();
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain(value);
      expect(stored).not.toContain(Buffer.from(value).toString("base64"));
      // Nowhere else: not in a result, a log line, or the audit log.
      expect(JSON.stringify(result)).not.toContain(value);
      expect(api.logs.join("\n")).not.toContain(value);
      const audit = await api.stores.db
        .selectFrom("audit_log")
        .selectAll()
        .where("action", "=", "secret.set")
        .execute();
      expect(audit.map((row) => row.detail)).toContainEqual({ name: "WEATHER_API_KEY" });
      expect(JSON.stringify(audit)).not.toContain(value);
    } finally {
      await isola.close();
    }
  });

  it.each([
    ["declines", { action: "decline" as const }, /the user declined to give the value/],
    ["cancels", { action: "cancel" as const }, /closed the form/],
  ])("stores nothing when the user %s", async (_case, reply, message) => {
    const isola = await connectIsola(api, api.adminToken, { elicit: () => reply });
    try {
      const result = await isola.call("set_secret", { server: slug, name: "DECLINED_TOKEN" });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(await secretNames(slug)).not.toContain("DECLINED_TOKEN");
    } finally {
      await isola.close();
    }
  });

  it("tells a client that cannot show forms how the user sets it instead", async () => {
    const isola = await connectIsola(api, api.adminToken);
    try {
      const result = await isola.call("set_secret", { server: slug, name: "NO_FORM_TOKEN" });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain("cannot show a form");
      expect(textOf(result)).toContain(`printf '%s' "$NO_FORM_TOKEN" | isola secrets set ${slug} NO_FORM_TOKEN`);
      expect(textOf(result)).toContain(`PUT ${api.url}/api/v1/servers/${slug}/secrets/NO_FORM_TOKEN`);
      expect(await secretNames(slug)).not.toContain("NO_FORM_TOKEN");
    } finally {
      await isola.close();
    }
  });

  it.each([
    ["a name that is no secret name", { server: slug, name: "lower_case" }, /Input validation error/],
    ["a value as an argument", { server: slug, name: "X_TOKEN", value: "leaked" }, /Input validation error/],
    ["an unknown server", { server: "no-such-server", name: "X_TOKEN" }, /no server called no-such-server/],
  ])("refuses %s without showing a form", async (_case, args, message) => {
    const isola = await connectIsola(api, api.adminToken, {
      elicit: () => ({ action: "accept", content: { X_TOKEN: "x" } }),
    });
    try {
      const result = await isola.call("set_secret", args);
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(message);
      expect(isola.forms).toEqual([]);
    } finally {
      await isola.close();
    }
  });

  it("deploy_template asks for the template's secrets in a form and stores them with the new server", async () => {
    const token = `ghp_${randomBytes(16).toString("hex")}`;
    const isola = await connectIsola(api, api.adminToken, {
      elicit: () => ({ action: "accept", content: { GITHUB_TOKEN: token } }),
    });
    try {
      const result = await isola.call("deploy_template", { template: "github-issues", slug: "secret-github" });
      expect(dataOf(result).server).toMatchObject({ slug: "secret-github", status: "live" });
      expect(isola.forms[0]?.requestedSchema).toMatchObject({
        properties: { GITHUB_TOKEN: { type: "string", description: expect.stringContaining("How to get it:") } },
        // Optional in this template.
        required: [],
      });
      expect(await vault().envFor(await serverId("secret-github"))).toMatchObject({ GITHUB_TOKEN: token });
      expect(api.logs.join("\n")).not.toContain(token);
    } finally {
      await isola.close();
    }
  });
});
