// After the code: refresh tokens rotate on every use and a reused one revokes the whole grant;
// clients revoke tokens (RFC 7009); users list their grants and revoke them through the API,
// which stops refreshes, and the MCP endpoints' acceptance of the grant's access tokens, at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OAuthAgent } from "../support/oauth-agent.ts";
import {
  authorizationUrl,
  claimsOf,
  exchangeCode,
  pkce,
  type RegisteredClient,
  refresh,
  registerPublicClient,
  tokenRequest,
} from "../support/oauth-client.ts";
import { callServer, type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";

describe("refresh tokens, revocation and grants", () => {
  let instance: OAuthInstance;
  let issuer: string;
  let owner: Person;
  let notes: string;
  let other: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    instance = await startOAuthInstance();
    issuer = instance.issuer;
    owner = await instance.person();
    notes = await instance.server(owner, "grant-notes");
    other = await instance.server(owner, "grant-other");
    client = await registerPublicClient(issuer, { client_name: "Grant Tester" });
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
  });

  async function tokensFor(person: Person, resource: string, agent = new OAuthAgent(), using = client) {
    const { verifier, challenge } = pkce();
    const { callback, pages } = await agent.authorize(
      authorizationUrl(issuer, { client: using, challenge, resource, scope: "mcp:tools" }),
      person,
    );
    const exchanged = await exchangeCode(issuer, {
      client: using,
      code: callback.searchParams.get("code") as string,
      verifier,
    });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    const body = exchanged.body as { access_token: string; refresh_token: string };
    return { access_token: body.access_token, refresh_token: body.refresh_token, pages };
  }

  it("rotates the refresh token on every use; a reused one revokes the whole chain", async () => {
    const first = await tokensFor(owner, notes);
    const second = await refresh(issuer, { client, refreshToken: first.refresh_token });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(claimsOf(String(second.body.access_token))).toMatchObject({ aud: notes, scope: "mcp:tools" });
    expect((await callServer(notes, String(second.body.access_token))).status).toBe(200);
    const third = await refresh(issuer, { client, refreshToken: String(second.body.refresh_token) });
    expect(third.status).toBe(200);

    // The first token again: someone kept a copy. Every token of the grant stops.
    const reused = await refresh(issuer, { client, refreshToken: first.refresh_token });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe("invalid_grant");
    const latest = await refresh(issuer, { client, refreshToken: String(third.body.refresh_token) });
    expect(latest.status).toBe(400);
    expect(latest.body.error).toBe("invalid_grant");
    // And so do the access tokens the chain was issued, before they expire.
    const refused = await callServer(notes, String(third.body.access_token));
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatch(
      /error="invalid_token", error_description="the access token's grant has been revoked"/,
    );
  });

  it("refreshes for the granted server only", async () => {
    const tokens = await tokensFor(owner, notes);
    const forOther = await refresh(issuer, { client, refreshToken: tokens.refresh_token, resource: other });
    expect(forOther.status).toBe(400);
    expect(forOther.body.error).toBe("invalid_target");
    const forNotes = await refresh(issuer, { client, refreshToken: tokens.refresh_token, resource: notes });
    expect(forNotes.status).toBe(200);
    expect(claimsOf(String(forNotes.body.access_token)).aud).toBe(notes);
  });

  it("refuses another client's refresh token", async () => {
    const tokens = await tokensFor(owner, notes);
    const thief = await registerPublicClient(issuer, { client_name: "Thief" });
    const stolen = await refresh(issuer, { client: thief, refreshToken: tokens.refresh_token });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe("invalid_grant");
  });

  it("revokes a refresh token at the revocation endpoint (RFC 7009)", async () => {
    const tokens = await tokensFor(owner, notes);
    const revoked = await tokenRequest(
      issuer,
      { token: tokens.refresh_token, token_type_hint: "refresh_token", client_id: client.client_id },
      "/token/revocation",
    );
    expect(revoked.status).toBe(200);
    const after = await refresh(issuer, { client, refreshToken: tokens.refresh_token });
    expect(after.body.error).toBe("invalid_grant");
  });

  it("lets no other client revoke a client's refresh token", async () => {
    const tokens = await tokensFor(owner, notes);
    const other = await registerPublicClient(issuer, { client_name: "Other" });
    const attempt = await tokenRequest(
      issuer,
      { token: tokens.refresh_token, token_type_hint: "refresh_token", client_id: other.client_id },
      "/token/revocation",
    );
    expect(attempt.status).toBe(200);
    const after = await refresh(issuer, { client, refreshToken: tokens.refresh_token });
    expect(after.status).toBe(200);
  });

  describe("through /api/v1/me/grants", () => {
    it("lists a user's grants: the client, each server with its scopes, and nobody else's", async () => {
      const person = await instance.person();
      const server = await instance.server(person, "grant-listed");
      await tokensFor(person, server);
      const listed = await person.session.get("me/grants");
      expect(listed.status).toBe(200);
      expect(listed.body.items).toHaveLength(1);
      const [grant] = listed.body.items;
      expect(grant).toMatchObject({
        client: { id: client.client_id, name: "Grant Tester" },
        resources: [{ url: server, server: "grant-listed", scopes: ["mcp:tools"] }],
      });
      expect(Date.parse(grant.expiresAt)).toBeGreaterThan(Date.now() + 300 * 86_400_000);
      // The owner's grants are not the person's, and the reverse.
      const owners = await owner.token.get("me/grants");
      expect(owners.body.items.map((item: { id: string }) => item.id)).not.toContain(grant.id);
    });

    it("revokes a grant: refreshes stop at once, the next authorization asks consent again", async () => {
      const person = await instance.person();
      const server = await instance.server(person, "grant-revoked");
      const agent = new OAuthAgent();
      const tokens = await tokensFor(person, server, agent);
      expect(claimsOf(tokens.access_token).grant_id).toEqual(expect.any(String));
      expect((await callServer(server, tokens.access_token)).status).toBe(200);
      const [grant] = (await person.token.get("me/grants")).body.items;

      // Someone else cannot revoke it, or learn that it exists.
      const stranger = await instance.person();
      const foreign = await stranger.token.delete(`me/grants/${grant.id}`);
      expect(foreign.status).toBe(404);
      expect((await refresh(issuer, { client, refreshToken: tokens.refresh_token })).status).toBe(200);

      const before = await person.token.get("me/grants");
      expect(before.body.items).toHaveLength(1);
      const revoked = await person.token.delete(`me/grants/${grant.id}`);
      expect(revoked.status).toBe(204);
      expect((await person.token.get("me/grants")).body.items).toEqual([]);
      const rows = await instance.api.stores.db
        .selectFrom("oauth_models")
        .select("model")
        .where("grant_id", "=", grant.id)
        .execute();
      expect(rows).toEqual([]);
      const audit = await instance.api.stores.db
        .selectFrom("audit_log")
        .select(["action", "target_id"])
        .where("action", "=", "grant.revoke")
        .execute();
      expect(audit).toContainEqual({ action: "grant.revoke", target_id: grant.id });

      // Every refresh token of the chain, even the newest, is refused.
      const latest = (await person.token.get("me/grants")).body.items;
      expect(latest).toEqual([]);
      for (const refreshToken of [tokens.refresh_token]) {
        const refused = await refresh(issuer, { client, refreshToken });
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe("invalid_grant");
      }
      expect((await person.token.delete(`me/grants/${grant.id}`)).status).toBe(404);
      // The access token it had, still within its lifetime and verified a moment ago, is refused.
      const afterRevoke = await callServer(server, tokens.access_token);
      expect(afterRevoke.status).toBe(401);
      expect(afterRevoke.challenge).toMatch(/grant has been revoked/);

      // The same browser is still signed in, but the consent is gone.
      const again = await tokensFor(person, server, agent);
      expect(again.pages).toHaveLength(1);
      expect(again.pages[0]?.body).toContain("/consent");
    });
  });
});
