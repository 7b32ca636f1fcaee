import { randomBytes } from "node:crypto";
import { OAUTH_GRANT_REVOKED, serverLogKey } from "@isola/schema";
import type { FastifyPluginAsync } from "fastify";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { storeGrant } from "../support/grants.ts";
import { deploySource, initializeRequest, openSession, PROBE_SOURCE, quickDatabase, send } from "../support/mcp.ts";
import { eventually, sleep } from "../support/wait.ts";

// Who may call a server's endpoint: API keys (api_key servers) and OAuth access tokens (oauth
// servers), verified by the runtime. The issuer is played by the test: its keys are made here
// and its JWKS is served at ${PUBLIC_URL}/oauth/jwks through the harness's `plugins` option.

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** The test's OAuth issuer: signing keys it can rotate, and a JWKS endpoint that counts its fetches. */
class TestIssuer {
  keys: { kid: string; privateKey: SigningKey; jwk: JWK }[] = [];
  fetches: number[] = [];

  async addKey(kid: string) {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
    const key = { kid, privateKey, jwk };
    this.keys.push(key);
    return key;
  }

  plugin: FastifyPluginAsync = async (app) => {
    app.get("/oauth/jwks", async () => {
      this.fetches.push(Date.now());
      return { keys: this.keys.map((key) => key.jwk) };
    });
  };
}

const initialize = initializeRequest();

describe("authentication at a server's endpoint", () => {
  const issuer = new TestIssuer();
  let api: Api;
  let keyedUrl: string;
  let guardedUrl: string;

  beforeAll(async () => {
    await issuer.addKey("k1");
    api = await startApi(quickDatabase(), {}, { listen: true, plugins: [issuer.plugin] });
    await deploySource(api.admin, "keyed", PROBE_SOURCE, { authMode: "api_key" });
    await deploySource(api.admin, "guarded", PROBE_SOURCE, { authMode: "oauth" });
    await api.admin.post("servers", { slug: "elsewhere", name: "elsewhere", authMode: "api_key" });
    keyedUrl = `${api.url}/keyed/mcp`;
    guardedUrl = `${api.url}/guarded/mcp`;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  /** Every log line the instance wrote, and every line of the servers' live logs. */
  async function everyLogLine(): Promise<string> {
    const live: string[] = [];
    for (const slug of ["keyed", "guarded"]) {
      const server = await api.admin.get(`servers/${slug}`);
      const entries = await api.stores.bus.readAfter(serverLogKey(server.body.id), undefined, 1000);
      live.push(...entries.map((entry) => entry.value));
    }
    return [...api.logs, ...live].join("\n");
  }

  /** The access-log lines of one server. */
  function accessLines(slug: string) {
    return api.logs
      .map((line) => JSON.parse(line) as { msg: string; access?: { server?: string; status: number; caller?: string } })
      .filter((line) => line.msg === "mcp request" && line.access?.server === slug)
      .map((line) => line.access as { status: number; caller?: string; rpc?: string });
  }

  describe("api_key servers", () => {
    const created: { id: string; key: string; name: string }[] = [];
    async function createKey(slug = "keyed", body: Record<string, unknown> = {}) {
      const name = `key-${randomBytes(3).toString("hex")}`;
      const response = await api.admin.post(`servers/${slug}/keys`, { name, ...body });
      expect(response.status).toBe(201);
      const key = { id: response.body.id as string, key: response.body.key as string, name };
      created.push(key);
      return key;
    }

    it("takes a key as Authorization: Bearer or X-API-Key", async () => {
      const { key } = await createKey();
      const ways: Record<string, string>[] = [
        { authorization: `Bearer ${key}` },
        { authorization: `bearer ${key}` },
        { "x-api-key": key },
      ];
      for (const headers of ways) {
        const answer = await send(keyedUrl, { body: initialize, headers });
        expect(answer.status, JSON.stringify(headers)).toBe(200);
      }
    });

    it.each([
      ["no key", {}],
      ["an empty bearer", { authorization: "Bearer " }],
      ["another scheme", { authorization: "Basic a2V5OnNlY3JldA==" }],
      ["an unknown key", { authorization: `Bearer isola_key_${randomBytes(24).toString("base64url")}` }],
      ["not a key at all", { "x-api-key": "hunter2" }],
    ])("refuses %s with 401 and a challenge", async (_name, headers) => {
      const answer = await send(keyedUrl, { body: initialize, headers });
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toMatch(/^Bearer /);
      expect(answer.json).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } });
    });

    it("refuses a key of another server", async () => {
      const { key } = await createKey("elsewhere");
      const answer = await send(keyedUrl, { body: initialize, headers: { authorization: `Bearer ${key}` } });
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toMatch(/^Bearer /);
    });

    it("refuses an expired key", async () => {
      const { id, key } = await createKey("keyed", { expiresInDays: 1 });
      await api.stores.db
        .updateTable("api_keys")
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where("id", "=", id)
        .execute();
      const answer = await send(keyedUrl, { body: initialize, headers: { "x-api-key": key } });
      expect(answer.status).toBe(401);
      expect(answer.json.error.message).toMatch(/revoked or expired/);
    });

    it("stops taking a revoked key within seconds, sessions included", async () => {
      const { id, key } = await createKey();
      const headers = { authorization: `Bearer ${key}` };
      const session = await openSession(keyedUrl, { headers });
      const ping = { jsonrpc: "2.0", id: 1, method: "ping" };
      expect((await send(keyedUrl, { body: ping, headers: session.headers })).status).toBe(200);
      expect((await api.admin.delete(`servers/keyed/keys/${id}`)).status).toBe(204);
      const revokedAt = Date.now();
      await eventually(async () => {
        const answer = await send(keyedUrl, { body: ping, headers: session.headers });
        return answer.status === 401 ? answer : undefined;
      }, 5000);
      expect(Date.now() - revokedAt).toBeLessThan(5000);
      expect((await send(keyedUrl, { body: initialize, headers })).status).toBe(401);
    });

    it("binds a session to the key that opened it", async () => {
      const first = await createKey();
      const second = await createKey();
      const session = await openSession(keyedUrl, { headers: { "x-api-key": first.key } });
      const answer = await send(keyedUrl, {
        body: { jsonrpc: "2.0", id: 1, method: "ping" },
        headers: { ...session.headers, "x-api-key": second.key },
      });
      expect(answer.status).toBe(404);
    });

    it("names the caller by the key's name in the access log, and shows tool code the name only", async () => {
      const { key, name } = await createKey();
      const session = await openSession(keyedUrl, { headers: { "x-api-key": key } });
      const answer = await send(keyedUrl, {
        body: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } },
        headers: session.headers,
      });
      expect(answer.status).toBe(200);
      const seen = answer.json.result.structuredContent;
      expect(seen.user).toEqual({ subject: name, clientId: null, scopes: [] });
      expect(seen.env).toEqual({});
      expect(answer.text).not.toContain(key);
      const lines = accessLines("keyed").filter((line) => line.caller === name);
      expect(lines.map((line) => line.rpc)).toEqual(["initialize", "notifications/initialized", "tools/call"]);
      expect(lines.every((line) => line.status < 300)).toBe(true);
    });

    it("never writes a key into a log", async () => {
      expect(created.length).toBeGreaterThan(5);
      const logs = await everyLogLine();
      expect(logs.length).toBeGreaterThan(0);
      for (const { key } of created) {
        expect(logs).not.toContain(key);
        // Nor a recognisable piece of it beyond its public prefix.
        expect(logs).not.toContain(key.slice(-16));
      }
    });
  });

  describe("oauth servers", () => {
    let resource: string;
    let metadataUrl: string;
    let grant: string;
    const tokens: string[] = [];

    beforeAll(async () => {
      grant = await storeGrant(api.stores.db, { accountId: "user-1", clientId: "client-1" });
      resource = guardedUrl;
      metadataUrl = `${api.url}/.well-known/oauth-protected-resource/guarded/mcp`;
    });

    /** A token as the issuer would mint it, with `change` applied (undefined removes a claim). */
    async function mint(
      change: Record<string, unknown> = {},
      options: { kid?: string; key?: SigningKey } = {},
    ): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        iss: `${api.url}/oauth`,
        aud: resource,
        sub: "user-1",
        client_id: "client-1",
        grant_id: grant,
        scope: "mcp:tools offline_access",
        iat: now,
        exp: now + 300,
        ...change,
      };
      for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
      const signer = issuer.keys.find((key) => key.kid === (options.kid ?? "k1"));
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: options.kid ?? "k1", typ: "at+jwt" })
        .sign(options.key ?? (signer?.privateKey as SigningKey));
      tokens.push(token);
      return token;
    }

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    it("takes a valid token", async () => {
      const answer = await send(guardedUrl, { body: initialize, headers: bearer(await mint()) });
      expect(answer.status).toBe(200);
      expect(answer.json.result.protocolVersion).toBe("2025-11-25");
    });

    it("challenges a request without a token with where to find the metadata and what scope to ask", async () => {
      const answer = await send(guardedUrl, { body: initialize });
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe(`Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"`);
      const metadata = await send(metadataUrl, { method: "GET" });
      expect(metadata.json).toMatchObject({ resource, authorization_servers: [`${api.url}/oauth`] });
    });

    const now = () => Math.floor(Date.now() / 1000);
    const refused: [string, () => Promise<string>, RegExp][] = [
      ["a wrong signature", async () => mint({}, { key: (await generateKeyPair("ES256")).privateKey }), /not valid/],
      ["a wrong issuer", () => mint({ iss: "https://evil.example/oauth" }), /not valid/],
      ["an issuer with a trailing slash", () => mint({ iss: `${api.url}/oauth/` }), /not valid/],
      ["an expired token", () => mint({ exp: now() - 120 }), /expired/],
      ["a token valid only in the future (nbf)", () => mint({ nbf: now() + 600 }), /not valid/],
      ["another server's URL as audience", () => mint({ aud: `${api.url}/keyed/mcp` }), /another resource/],
      ["the instance's URL as audience", () => mint({ aud: api.url }), /another resource/],
      ["no audience", () => mint({ aud: undefined }), /not valid|another resource/],
      ["no subject", () => mint({ sub: undefined }), /not valid/],
      ["no expiry", () => mint({ exp: undefined }), /not valid/],
      [
        "an unsigned token (alg none)",
        async () => {
          const token = await mint();
          const [, payload] = token.split(".");
          const header = Buffer.from(JSON.stringify({ alg: "none", kid: "k1" })).toString("base64url");
          return `${header}.${payload}.`;
        },
        /not valid/,
      ],
      ["garbage", async () => "not.a.token", /not valid/],
      [
        "an HS256 token keyed with the issuer's public key",
        async () => {
          const k1 = issuer.keys.find((key) => key.kid === "k1") as { jwk: JWK };
          const { d: _none, ...publicJwk } = k1.jwk;
          const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
          return new SignJWT({
            iss: `${api.url}/oauth`,
            aud: resource,
            sub: "user-1",
            scope: "mcp:tools",
            grant_id: grant,
          })
            .setProtectedHeader({ alg: "HS256", kid: "k1" })
            .setIssuedAt()
            .setExpirationTime("5m")
            .sign(secret);
        },
        /not valid/,
      ],
      [
        "a tampered payload (another subject, the signature kept)",
        async () => {
          const [header, payload, signature] = (await mint()).split(".");
          const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString());
          const changed = Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url");
          return `${header}.${changed}.${signature}`;
        },
        /not valid/,
      ],
      [
        "a kid the issuer never published",
        () => mint({}, { kid: "never-published", key: issuer.keys[0]?.privateKey }),
        /not valid/,
      ],
      ["no grant", () => mint({ grant_id: undefined }), /not valid/],
      ["a grant that does not stand (revoked)", () => mint({ grant_id: "revoked-grant" }), /revoked/],
    ];
    it.each(refused)("refuses %s with 401 invalid_token", async (_name, make, message) => {
      const answer = await send(guardedUrl, { body: initialize, headers: bearer(await make()) });
      expect(answer.status).toBe(401);
      expect(answer.json.error.message).toMatch(message);
      const challenge = answer.headers["www-authenticate"] as string;
      expect(challenge).toMatch(
        new RegExp(`^Bearer resource_metadata="${metadataUrl}", scope="mcp:tools", error="invalid_token"`),
      );
    });

    it("refuses a token it verified a moment ago once its grant's revocation is announced", async () => {
      const revocable = await storeGrant(api.stores.db, { accountId: "user-1", clientId: "client-1" });
      const token = await mint({ grant_id: revocable });
      expect((await send(guardedUrl, { body: initialize, headers: bearer(token) })).status).toBe(200);
      await api.stores.db.deleteFrom("oauth_models").where("grant_id", "=", revocable).execute();
      // Remembered for up to a minute without the announcement; refused at once with it.
      expect((await send(guardedUrl, { body: initialize, headers: bearer(token) })).status).toBe(200);
      await api.stores.bus.publish(OAUTH_GRANT_REVOKED, revocable);
      const answer = await send(guardedUrl, { body: initialize, headers: bearer(token) });
      expect(answer.status).toBe(401);
      expect(answer.json.error.message).toMatch(/revoked/);
    });

    it("refuses a token in X-API-Key (bearer only)", async () => {
      const answer = await send(guardedUrl, { body: initialize, headers: { "x-api-key": await mint() } });
      expect(answer.status).toBe(401);
    });

    it.each([
      ["another scope", "profile email"],
      ["an empty scope", ""],
      ["a scope that only starts the same", "mcp:tools:read"],
      ["no scope claim", undefined],
    ])("refuses a token with %s with 403 insufficient_scope, naming the scope to ask for", async (_name, scope) => {
      const answer = await send(guardedUrl, { body: initialize, headers: bearer(await mint({ scope })) });
      expect(answer.status).toBe(403);
      expect(answer.json.error.message).toMatch(/scope mcp:tools/);
      expect(answer.headers["www-authenticate"]).toMatch(
        new RegExp(`^Bearer resource_metadata="${metadataUrl}", scope="mcp:tools", error="insufficient_scope"`),
      );
    });

    it("fetches the JWKS again when a token names a key it does not know (rotation)", async () => {
      // The cache is warm from the tests above; a rotation publishes k2 and signs with it.
      expect((await send(guardedUrl, { body: initialize, headers: bearer(await mint()) })).status).toBe(200);
      await issuer.addKey("k2");
      const fetched = issuer.fetches.length;
      // Refetches are at most once a second: wait that out since the last one.
      await sleep(Math.max(0, 1100 - (Date.now() - (issuer.fetches.at(-1) ?? 0))));
      const answer = await send(guardedUrl, { body: initialize, headers: bearer(await mint({}, { kid: "k2" })) });
      expect(answer.status).toBe(200);
      expect(issuer.fetches.length).toBe(fetched + 1);
    });

    it("does not turn a flood of unknown kids into a flood of JWKS fetches", async () => {
      const stranger = (await generateKeyPair("ES256")).privateKey;
      const fetched = issuer.fetches.length;
      const answers = await Promise.all(
        Array.from({ length: 20 }, async (_, n) =>
          send(guardedUrl, {
            body: initialize,
            headers: bearer(await mint({}, { kid: `made-up-${n}`, key: stranger })),
          }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(401));
      expect(issuer.fetches.length - fetched).toBeLessThanOrEqual(2);
    });

    it("shows tool code ctx.user, never the token, and logs the subject, never the token", async () => {
      const token = await mint({ sub: "user-42", client_id: "desktop-app" });
      const session = await openSession(guardedUrl, { headers: bearer(token) });
      const answer = await send(guardedUrl, {
        body: { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "whoami", arguments: {} } },
        headers: session.headers,
      });
      expect(answer.status).toBe(200);
      const seen = answer.json.result.structuredContent;
      expect(seen.user).toEqual({
        subject: "user-42",
        clientId: "desktop-app",
        scopes: ["mcp:tools", "offline_access"],
      });
      expect(seen.env).toEqual({});
      expect(seen.context.sort()).toEqual(["elicit", "env", "llm", "log", "progress", "sample", "signal", "user"]);
      expect(answer.text).not.toContain(token);
      const lines = accessLines("guarded").filter((line) => line.caller === "user-42 via desktop-app");
      expect(lines.map((line) => line.rpc)).toContain("tools/call");
    });

    it("never writes a token into a log", async () => {
      expect(tokens.length).toBeGreaterThan(10);
      const logs = await everyLogLine();
      for (const token of tokens) expect(logs).not.toContain(token.split(".")[2]);
    });
  });
});
