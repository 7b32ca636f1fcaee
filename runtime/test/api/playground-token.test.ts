import { randomBytes } from "node:crypto";
import { secretKeyOf } from "@isola/control";
import { loadKeySet, mintDashboardToken, sessionGrantId } from "@isola/control/oauth";
import { DASHBOARD_CLIENT_ID, GRANT_CLAIM } from "@isola/schema";
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, Client, startApi } from "../support/api-harness.ts";
import { storeGrant } from "../support/grants.ts";
import { deploySource, openSession, PROBE_SOURCE, quickDatabase, send } from "../support/mcp.ts";
import { memberOf, newOrg } from "./orgs-people.ts";

// The dashboard's playground token (POST /servers/{slug}/playground-token): minted for those who
// may change a server, admitted by the runtime on every auth mode of that one server, and dead as
// soon as the session or PAT that minted it is.

const secretBytes = randomBytes(32);

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()) as Record<string, unknown>;

describe("playground tokens", () => {
  let api: Api;
  const url = (slug: string) => `${api.url}/${slug}/mcp`;

  beforeAll(async () => {
    api = await startApi(
      quickDatabase(),
      { ISOLA_SECRET_KEY: secretBytes.toString("base64"), ISOLA_ROLES: "runtime,control" },
      { listen: true },
    );
    await deploySource(api.admin, "keyed", PROBE_SOURCE, { authMode: "api_key" });
    await deploySource(api.admin, "keyed-b", PROBE_SOURCE, { authMode: "api_key" });
    await deploySource(api.admin, "guarded", PROBE_SOURCE, { authMode: "oauth" });
    await deploySource(api.admin, "open", PROBE_SOURCE, { authMode: "public" });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  async function mint(client: Client, slug: string) {
    return client.post(`servers/${slug}/playground-token`);
  }

  /** whoami over a fresh MCP session with `token`; the HTTP status of the first refusal, or the tool's answer. */
  async function whoami(slug: string, token: string) {
    const auth = { authorization: `Bearer ${token}` };
    let session: Awaited<ReturnType<typeof openSession>>;
    try {
      session = await openSession(url(slug), { headers: auth });
    } catch (error) {
      return { status: Number(/initialize: (\d+)/.exec((error as Error).message)?.[1]), user: undefined };
    }
    const answer = await send(url(slug), {
      body: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } },
      headers: session.headers,
    });
    const message = answer.events.map((event) => JSON.parse(event.data)).find((m) => m.id === 2) ?? answer.json;
    const structured = message?.result?.structuredContent ?? JSON.parse(message?.result?.content?.[0]?.text ?? "null");
    return { status: answer.status, user: structured?.user as { subject: string; clientId: string } | undefined };
  }

  it("is minted for a server's editor: a 5-minute ES256 token for that server's MCP URL", async () => {
    const minted = await mint(api.admin, "keyed");
    expect(minted.status).toBe(201);
    expect(minted.headers["cache-control"]).toBe("no-store");
    expect(minted.body.mcpUrl).toBe(url("keyed"));
    expect(minted.body.scopes).toEqual(["mcp:tools"]);
    const [header, payload] = (minted.body.accessToken as string)
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(header.alg).toBe("ES256");
    expect(payload).toMatchObject({ aud: url("keyed"), client_id: DASHBOARD_CLIENT_ID, iss: `${api.url}/oauth` });
    expect(payload.exp - payload.iat).toBe(300);
    expect(payload[GRANT_CLAIM]).toMatch(/^dashboard:pat:/);
  });

  it("calls tools on api_key, oauth and public servers, named as the dashboard", async () => {
    for (const slug of ["keyed", "guarded", "open"]) {
      const token = (await mint(api.admin, slug)).body.accessToken;
      const called = await whoami(slug, token);
      expect(called.status, slug).toBe(200);
      expect(called.user?.clientId, slug).toBe(DASHBOARD_CLIENT_ID);
    }
    const callers = api.logs
      .map((line) => JSON.parse(line) as { msg: string; access?: { server?: string; caller?: string } })
      .filter((line) => line.msg === "mcp request" && line.access?.server === "keyed")
      .map((line) => line.access?.caller);
    expect(callers.some((caller) => caller?.startsWith("dashboard: "))).toBe(true);
  });

  it("is worthless at another server", async () => {
    const token = (await mint(api.admin, "keyed")).body.accessToken;
    expect((await whoami("keyed-b", token)).status).toBe(401);
    expect((await whoami("guarded", token)).status).toBe(401);
  });

  it("is refused once expired", async () => {
    const keys = await loadKeySet(api.stores.db, secretKeyOf(secretBytes));
    const admin = await api.admin.get("me");
    const { token } = mintDashboardToken(
      keys.signing,
      {
        issuer: `${api.url}/oauth`,
        audience: url("keyed"),
        subject: admin.body.user.id,
        scopes: ["mcp:tools"],
        grantId: String(claimsOf((await mint(api.admin, "keyed")).body.accessToken)[GRANT_CLAIM]),
      },
      new Date(Date.now() - 10 * 60_000),
    );
    expect((await whoami("keyed", token)).status).toBe(401);
  });

  it("dies with the browser session that minted it, even after a first use", async () => {
    const { session } = await api.signup();
    const mine = await session.post("servers", { slug: "mine", name: "mine", authMode: "api_key" });
    expect(mine.status).toBe(201);
    const version = await session.post("servers/mine/versions", { source: PROBE_SOURCE });
    expect((await session.post("servers/mine/deploy", { version: version.body.number })).status).toBe(200);
    const minted = await mint(session, "mine");
    expect(minted.status).toBe(201);
    expect((await whoami("mine", minted.body.accessToken)).status).toBe(200);
    expect((await session.post("auth/logout")).status).toBe(204);
    expect((await whoami("mine", minted.body.accessToken)).status).toBe(401);
  });

  it("dies with the personal access token that minted it", async () => {
    const created = await api.admin.post("me/tokens", { name: `pg-${randomBytes(3).toString("hex")}` });
    expect(created.status).toBe(201);
    const pat = new Client(api.app, { authorization: `Bearer ${created.body.token}` });
    const minted = await mint(pat, "keyed");
    expect((await whoami("keyed", minted.body.accessToken)).status).toBe(200);
    expect((await api.admin.delete(`me/tokens/${created.body.id}`)).status).toBe(204);
    expect((await whoami("keyed", minted.body.accessToken)).status).toBe(401);
  });

  it("is not minted for a viewer (403), an outsider (404) or nobody (401); a member may", async () => {
    const org = (await api.admin.get("me")).body.orgs[0].slug as string;
    const viewer = await memberOf(api, org, "viewer");
    const member = await memberOf(api, org, "member");
    const outsider = (await newOrg(api)).owner;
    expect((await mint(viewer.session, "keyed")).status).toBe(403);
    expect((await mint(outsider.session, "keyed")).status).toBe(404);
    expect((await mint(api.anonymous, "keyed")).status).toBe(401);
    expect((await mint(member.session, "keyed")).status).toBe(201);
    expect((await mint(api.admin, "no-such-server")).status).toBe(404);
  });

  it("leaves other JWTs as they were: an OAuth client's token works on oauth servers only", async () => {
    const keys = await loadKeySet(api.stores.db, secretKeyOf(secretBytes));
    const admin = (await api.admin.get("me")).body.user.id as string;
    const sign = async (audience: string, clientId: string, grantId: string) =>
      new SignJWT({ client_id: clientId, scope: "mcp:tools", [GRANT_CLAIM]: grantId })
        .setProtectedHeader({ alg: "ES256", kid: keys.signing.kid })
        .setIssuer(`${api.url}/oauth`)
        .setAudience(audience)
        .setSubject(admin)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(await importJWK(keys.signing, "ES256"));
    const grant = await storeGrant(api.stores.db, { accountId: admin, clientId: "some-client" });
    expect((await whoami("guarded", await sign(url("guarded"), "some-client", grant))).status).toBe(200);
    expect((await whoami("keyed", await sign(url("keyed"), "some-client", grant))).status).toBe(401);
    // A token that claims the dashboard's client under an OAuth grant still needs a live grant:
    // a made-up session is none.
    const forged = await sign(url("keyed"), DASHBOARD_CLIENT_ID, sessionGrantId("0".repeat(64)));
    expect((await whoami("keyed", forged)).status).toBe(401);
  });
});
