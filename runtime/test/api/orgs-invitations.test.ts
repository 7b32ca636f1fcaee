import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../support/api-harness.ts";
import { startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { memberOf, newOrg, type Person, person, tokenIn } from "./orgs-people.ts";

const tokenOf = (link: string) => link.split("/invitations/")[1] as string;

describe.each(databaseBackends())("invitations on $name", (backend) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(backend);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  async function invite(inviter: Person, org: string, email: string, role = "member") {
    const response = await inviter.session.post(`orgs/${org}/invitations`, { email, role });
    expect(response.status).toBe(201);
    return response.body as { id: string; email: string; role: string; expiresAt: string; link: string };
  }

  it("invites by a single-use link shown once, lists it as pending, and lets the invitee join", async () => {
    const { slug, owner } = await newOrg(api);
    const invitee = await person(api, "Invitee@Example.com");
    const created = await invite(owner, slug, "invitee@example.com", "admin");
    expect(created).toMatchObject({ email: "invitee@example.com", role: "admin" });
    expect(created.link).toMatch(/^https:\/\/isola\.test\/invitations\/isola_inv_[A-Za-z0-9_-]{43}$/);
    const days = (Date.parse(created.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);

    const pending = await owner.session.get(`orgs/${slug}/invitations`);
    expect(pending.body.items).toEqual([
      {
        id: created.id,
        email: "invitee@example.com",
        role: "admin",
        expiresAt: created.expiresAt,
        invitedBy: owner.email,
      },
    ]);

    const accepted = await invitee.session.post("invitations/accept", { token: tokenOf(created.link) });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ org: slug, role: "admin" });
    expect((await invitee.session.get(`orgs/${slug}`)).body.role).toBe("admin");
    expect((await owner.session.get(`orgs/${slug}/invitations`)).body.items).toEqual([]);

    const again = await invitee.session.post("invitations/accept", { token: tokenOf(created.link) });
    expect(again.status).toBe(404);
    expect(again.body.detail).toMatch(/already used/);
  });

  it("never shows the token again: not in lists, logs or audit rows", async () => {
    const { slug, owner } = await newOrg(api);
    const invitee = await person(api);
    const { link } = await invite(owner, slug, invitee.email);
    await invitee.session.post("invitations/accept", { token: tokenOf(link) });
    const lists = [await owner.session.get(`orgs/${slug}/invitations`), await owner.session.get(`orgs/${slug}/audit`)];
    for (const list of lists) expect(JSON.stringify(list.body)).not.toContain(tokenOf(link));
    expect(api.logs.join("\n")).not.toContain(tokenOf(link));
    const rows = await api.stores.db.selectFrom("audit_log").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(tokenOf(link));
    const actions = (await owner.session.get(`orgs/${slug}/audit?action=invitation.`)).body.items.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual(["invitation.accept", "invitation.create"]);
  });

  it("lets exactly one of two concurrent accepts through", async () => {
    const { slug, owner } = await newOrg(api);
    const invitee = await person(api);
    const { link } = await invite(owner, slug, invitee.email);
    const results = await Promise.all([
      invitee.session.post("invitations/accept", { token: tokenOf(link) }),
      invitee.session.post("invitations/accept", { token: tokenOf(link) }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([404, 409]).toContain(statuses[1]);
    const members = (await owner.session.get(`orgs/${slug}/members`)).body.items;
    expect(members.filter((m: { userId: string }) => m.userId === invitee.userId)).toHaveLength(1);
  });

  it("refuses an invitation for another email with 403, leaving it usable by the right account", async () => {
    const { slug, owner } = await newOrg(api);
    const { link } = await invite(owner, slug, "right@example.com");
    const wrong = await person(api);
    const refused = await wrong.session.post("invitations/accept", { token: tokenOf(link) });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/another email/);
    expect(refused.body.detail).not.toContain("right@example.com");
    const right = await person(api, "right@example.com");
    expect((await right.session.post("invitations/accept", { token: tokenOf(link) })).status).toBe(200);
  });

  it("refuses a personal access token for one org joining another (403), leaving the invitation usable", async () => {
    const home = await newOrg(api);
    const invitee = await memberOf(api, home.slug, "owner");
    const token = await tokenIn(api, invitee, home.slug);
    const { slug, owner } = await newOrg(api);
    const { link } = await invite(owner, slug, invitee.email, "admin");
    const refused = await token.post("invitations/accept", { token: tokenOf(link) });
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe("urn:isola:problem:forbidden");
    expect(refused.body.detail).toBe(
      "a personal access token acts only in its own org and cannot join another; accept the invitation signed in",
    );
    expect(JSON.stringify(refused.body)).not.toContain(slug);
    expect((await owner.session.get(`orgs/${slug}/members`)).body.items).toHaveLength(1);
    expect((await owner.session.get(`orgs/${slug}/invitations`)).body.items).toHaveLength(1);
    expect((await token.get(`orgs/${slug}`)).status).toBe(404);
    // Signed in, the same account joins.
    expect((await invitee.session.post("invitations/accept", { token: tokenOf(link) })).status).toBe(200);
    // The token still acts in its own org only, even now that its holder is in both.
    expect((await token.get(`orgs/${slug}`)).status).toBe(404);
  });

  it("says an expired or unknown link is not valid, without naming the org", async () => {
    const { slug, owner } = await newOrg(api);
    const invitee = await person(api);
    const created = await invite(owner, slug, invitee.email);
    await api.stores.db
      .updateTable("invitations")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("id", "=", created.id)
      .execute();
    const expired = await invitee.session.post("invitations/accept", { token: tokenOf(created.link) });
    expect(expired.status).toBe(404);
    expect(expired.body.detail).toMatch(/expired/);
    expect((await owner.session.get(`orgs/${slug}/invitations`)).body.items).toEqual([]);
    const unknown = await invitee.session.post("invitations/accept", { token: "isola_inv_nothing" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/not valid/);
    for (const response of [expired, unknown]) expect(JSON.stringify(response.body)).not.toContain(slug);
    expect((await invitee.session.get(`orgs/${slug}`)).status).toBe(404);
  });

  it("refuses to invite a member (409) and lets a member accept nothing twice (409)", async () => {
    const { slug, owner } = await newOrg(api);
    const member = await memberOf(api, slug, "member");
    const duplicate = await owner.session.post(`orgs/${slug}/invitations`, {
      email: member.email.toUpperCase(),
      role: "admin",
    });
    expect(duplicate.status).toBe(409);
    // Invited before joining by another way: accepting later finds the membership.
    const later = await person(api);
    const { link } = await invite(owner, slug, later.email);
    await api.stores.db
      .insertInto("memberships")
      .values({
        org_id: (await api.stores.db.selectFrom("orgs").select("id").where("slug", "=", slug).executeTakeFirstOrThrow())
          .id,
        user_id: later.userId,
        role: "viewer",
      })
      .execute();
    const accepted = await later.session.post("invitations/accept", { token: tokenOf(link) });
    expect(accepted.status).toBe(409);
    expect((await owner.session.get(`orgs/${slug}/invitations`)).body.items).toHaveLength(1);
  });

  it("revokes a pending invitation (its link stops working), and replaces one when the address is invited again", async () => {
    const { slug, owner } = await newOrg(api);
    const invitee = await person(api);
    const first = await invite(owner, slug, invitee.email);
    const second = await invite(owner, slug, invitee.email, "viewer");
    const stale = await invitee.session.post("invitations/accept", { token: tokenOf(first.link) });
    expect(stale.status).toBe(404);
    expect((await owner.session.get(`orgs/${slug}/invitations`)).body.items.map((i: { id: string }) => i.id)).toEqual([
      second.id,
    ]);
    expect((await owner.session.delete(`orgs/${slug}/invitations/${second.id}`)).status).toBe(204);
    expect((await owner.session.delete(`orgs/${slug}/invitations/${second.id}`)).status).toBe(404);
    expect((await invitee.session.post("invitations/accept", { token: tokenOf(second.link) })).status).toBe(404);
    const audit = (await owner.session.get(`orgs/${slug}/audit?action=invitation.revoke`)).body.items;
    expect(audit[0].detail).toEqual({ email: invitee.email, role: "viewer" });
  });

  // [inviter, role invited, status]
  it.each([
    ["owner", "owner", 201],
    ["admin", "admin", 201],
    ["admin", "viewer", 201],
    ["admin", "owner", 403],
    ["member", "viewer", 403],
    ["viewer", "viewer", 403],
  ] as const)("lets a %s invite a %s: %i", async (inviterRole, role, status) => {
    const { slug } = await newOrg(api);
    const inviter = await memberOf(api, slug, inviterRole);
    const response = await inviter.session.post(`orgs/${slug}/invitations`, { email: "new@example.com", role });
    expect(response.status).toBe(status);
    expect((await inviter.session.get(`orgs/${slug}/invitations`)).status).toBe(
      inviterRole === "owner" || inviterRole === "admin" ? 200 : 403,
    );
  });

  it("answers 404 to non-members and 401 to nobody", async () => {
    const { slug, owner } = await newOrg(api);
    const created = await invite(owner, slug, "someone@example.com");
    const outsider = await person(api);
    for (const response of [
      await outsider.session.post(`orgs/${slug}/invitations`, { email: "x@example.com", role: "viewer" }),
      await outsider.session.get(`orgs/${slug}/invitations`),
      await outsider.session.delete(`orgs/${slug}/invitations/${created.id}`),
    ]) {
      expect(response.status).toBe(404);
    }
    expect((await api.anonymous.post("invitations/accept", { token: tokenOf(created.link) })).status).toBe(401);
    expect((await outsider.session.post("invitations/accept", {})).status).toBe(400);
  });

  it("creates once per Idempotency-Key", async () => {
    const { slug, owner } = await newOrg(api);
    const headers = { "idempotency-key": "invite-1" };
    const body = { email: "idem@example.com", role: "member" };
    const first = await owner.session.post(`orgs/${slug}/invitations`, body, headers);
    // The link is a secret shown once: a retry is refused (naming what was made), nothing stores the link.
    const retry = await owner.session.post(`orgs/${slug}/invitations`, body, headers);
    expect(retry.status).toBe(409);
    expect(retry.body.id).toBe(first.body.id);
    expect((await owner.session.get(`orgs/${slug}/invitations`)).body.items).toHaveLength(1);
    const stored = await api.stores.db.selectFrom("idempotency_keys").select("response").execute();
    expect(JSON.stringify(stored)).not.toContain(first.body.link.split("/").at(-1));
  });

  it("works end to end for an account made by sign-up", async () => {
    const { slug, owner } = await newOrg(api);
    const account = await api.signup();
    const { link } = await invite(owner, slug, account.email, "viewer");
    expect((await account.session.post("invitations/accept", { token: tokenOf(link) })).status).toBe(200);
    const me = await account.session.get("me");
    expect(me.body.orgs).toContainEqual({ slug, name: slug, role: "viewer" });
  });
});
