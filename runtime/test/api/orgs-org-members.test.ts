import type { OrgRole } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api, Client } from "../support/api-harness.ts";
import { startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { memberOf, newOrg, type Person, tokenIn } from "./orgs-people.ts";

describe.each(databaseBackends())("orgs and members on $name", (backend) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(backend);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  const roleOf = async (org: string, userId: string) =>
    (
      await api.stores.db
        .selectFrom("memberships as m")
        .innerJoin("orgs as o", "o.id", "m.org_id")
        .select("m.role")
        .where("o.slug", "=", org)
        .where("m.user_id", "=", userId)
        .executeTakeFirst()
    )?.role;

  const orgIdOf = async (slug: string) =>
    (await api.stores.db.selectFrom("orgs").select("id").where("slug", "=", slug).executeTakeFirstOrThrow()).id;

  /** The ETag `client` reads at `url` now (what an update sends as If-Match). */
  const etagAt = async (client: Client, url: string) => {
    const read = await client.get(url);
    expect(read.status).toBe(200);
    return String(read.headers.etag);
  };
  /** Changes a member's role the way a client must: read its ETag, then PATCH with If-Match. */
  const changeRole = async (actor: Person, org: string, userId: string, role: OrgRole) => {
    const url = `orgs/${org}/members/${userId}`;
    return actor.session.patch(url, { role }, { "if-match": await etagAt(actor.session, url) });
  };

  it("documents every org, member, invitation, plan, key and audit route in the OpenAPI document", async () => {
    const { paths } = (await api.anonymous.get("openapi.json")).body;
    const access = (path: string, method: string) => paths[`/api/v1${path}`]?.[method]?.["x-isola-access"];
    expect(access("/orgs/{org}", "get")).toEqual({ permission: "org:read", minimumRole: "viewer" });
    expect(access("/orgs/{org}", "patch")).toEqual({ permission: "org:update", minimumRole: "owner" });
    expect(access("/orgs/{org}/members", "get")).toEqual({ permission: "members:read", minimumRole: "viewer" });
    expect(access("/orgs/{org}/members/{userId}", "get")).toEqual({
      permission: "members:read",
      minimumRole: "viewer",
    });
    for (const path of ["/orgs/{org}", "/orgs/{org}/members/{userId}"]) {
      expect(paths[`/api/v1${path}`].patch["x-isola-problems"]).toEqual(
        expect.arrayContaining(["urn:isola:problem:precondition-required", "urn:isola:problem:precondition-failed"]),
      );
    }
    for (const method of ["patch", "delete"]) {
      expect(access("/orgs/{org}/members/{userId}", method)).toEqual({
        permission: "members:manage",
        minimumRole: "admin",
      });
    }
    for (const [path, method] of [
      ["/orgs/{org}/invitations", "post"],
      ["/orgs/{org}/invitations", "get"],
      ["/orgs/{org}/invitations/{id}", "delete"],
    ]) {
      expect(access(path as string, method as string)).toEqual({ permission: "members:manage", minimumRole: "admin" });
    }
    expect(access("/invitations/accept", "post")).toBe("signed-in");
    expect(access("/plans", "get")).toBe("signed-in");
    expect(access("/servers/{slug}/keys", "post")).toEqual({ permission: "keys:manage", minimumRole: "member" });
    expect(access("/servers/{slug}/keys", "get")).toEqual({ permission: "keys:read", minimumRole: "member" });
    expect(access("/servers/{slug}/keys/{id}", "delete")).toEqual({ permission: "keys:manage", minimumRole: "member" });
    expect(access("/orgs/{org}/audit", "get")).toEqual({ permission: "audit:read", minimumRole: "admin" });
    const auditParameters = paths["/api/v1/orgs/{org}/audit"].get.parameters.map((p: { name: string }) => p.name);
    expect(auditParameters).toEqual(
      expect.arrayContaining(["org", "action", "actorType", "targetType", "targetId", "from", "to", "cursor", "limit"]),
    );
  });

  it("shows an org with your role, its plan and its server count", async () => {
    const { slug, owner } = await newOrg(api);
    await owner.session.post("servers", { slug: `${slug}-s`, name: "S", authMode: "public", org: slug });
    const response = await owner.session.get(`orgs/${slug}`);
    expect(response.status).toBe(200);
    expect(response.headers.etag).toBe('"r1"');
    expect(response.body).toEqual({
      slug,
      name: slug,
      role: "owner",
      plan: {
        id: "default",
        name: "Default",
        maxServers: 50,
        callsPerMonth: 1_000_000,
        memoryMb: 64,
        rateLimitPerMinute: 600,
      },
      servers: 1,
      revision: 1,
    });
    const viewer = await memberOf(api, slug, "viewer");
    expect((await viewer.session.get(`orgs/${slug}`)).body.role).toBe("viewer");
  });

  it("lets only owners rename an org, and audits it", async () => {
    const { slug, owner } = await newOrg(api);
    const ifMatch = { "if-match": await etagAt(owner.session, `orgs/${slug}`) };
    const renamed = await owner.session.patch(`orgs/${slug}`, { name: "Renamed Ltd" }, ifMatch);
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ slug, name: "Renamed Ltd", role: "owner" });
    const admin = await memberOf(api, slug, "admin");
    const refused = await admin.session.patch(
      `orgs/${slug}`,
      { name: "Hijacked" },
      { "if-match": await etagAt(admin.session, `orgs/${slug}`) },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/owner/);
    expect((await owner.session.patch(`orgs/${slug}`, { name: " " })).status).toBe(400);
    expect((await owner.session.get(`orgs/${slug}`)).body.name).toBe("Renamed Ltd");
    const audit = await owner.session.get(`orgs/${slug}/audit?action=org.update`);
    expect(audit.body.items[0].detail).toEqual({ name: { from: slug, to: "Renamed Ltd" } });
  });

  it("renames an org only with the ETag of its current revision: 428 without, 412 when stale", async () => {
    const { slug, owner } = await newOrg(api);
    const url = `orgs/${slug}`;
    const first = await etagAt(owner.session, url);
    const missing = await owner.session.patch(url, { name: "No ETag" });
    expect(missing.status).toBe(428);
    expect(missing.body.type).toBe("urn:isola:problem:precondition-required");

    const renamed = await owner.session.patch(url, { name: "First" }, { "if-match": first });
    expect(renamed.status).toBe(200);
    expect(renamed.headers.etag).toBe('"r2"');
    expect(renamed.body.revision).toBe(2);
    expect(await etagAt(owner.session, url)).toBe(renamed.headers.etag);

    const stale = await owner.session.patch(url, { name: "Stale" }, { "if-match": first });
    expect(stale.status).toBe(412);
    expect(stale.body.type).toBe("urn:isola:problem:precondition-failed");
    expect(stale.body.detail).toBe(`the org ${slug} changed since revision 1; read it again`);
    const forged = await owner.session.patch(url, { name: "Forged" }, { "if-match": "*" });
    expect(forged.status).toBe(412);
    expect(forged.body.detail).toMatch(/not hold an ETag this API gave out/);
    // A weak form of the current ETag names the same revision.
    const weak = await owner.session.patch(url, { name: "Second" }, { "if-match": `W/${renamed.headers.etag}` });
    expect(weak.status).toBe(200);
    expect((await owner.session.get(url)).body).toMatchObject({ name: "Second", revision: 3 });
    const audit = await owner.session.get(`${url}/audit?action=org.update`);
    expect(audit.body.items.map((e: { detail: unknown }) => e.detail)).toEqual([
      { name: { from: "First", to: "Second" } },
      { name: { from: slug, to: "First" } },
    ]);
  });

  it("lets one of two renames sent with the same ETag through, and refuses the other with 412", async () => {
    const { slug, owner } = await newOrg(api);
    const other = await memberOf(api, slug, "owner");
    const url = `orgs/${slug}`;
    const ifMatch = { "if-match": await etagAt(owner.session, url) };
    const both = await Promise.all([
      owner.session.patch(url, { name: "Mine" }, ifMatch),
      other.session.patch(url, { name: "Theirs" }, ifMatch),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = both.find((r) => r.status === 200);
    const now = await owner.session.get(url);
    expect(now.body).toMatchObject({ name: winner?.body.name, revision: 2 });
    expect(now.headers.etag).toBe('"r2"');
    expect((await owner.session.get(`${url}/audit?action=org.update`)).body.items).toHaveLength(1);
  });

  it("answers 404 to non-members, tokens for another org and unknown orgs, and 401 to nobody", async () => {
    const { slug } = await newOrg(api);
    const outsider = await newOrg(api);
    for (const url of [`orgs/${slug}`, `orgs/${slug}/members`]) {
      const response = await outsider.owner.session.get(url);
      expect(response.status).toBe(404);
      expect(response.body.detail).toBe(`no org called ${slug}`);
      expect((await api.anonymous.get(url)).status).toBe(401);
    }
    expect((await outsider.owner.session.patch(`orgs/${slug}`, { name: "x" })).status).toBe(404);
    // Member of both orgs, but the token is for the other one.
    const both = await memberOf(api, slug, "owner");
    await api.stores.db
      .insertInto("memberships")
      .values({
        org_id: (
          await api.stores.db
            .selectFrom("orgs")
            .select("id")
            .where("slug", "=", outsider.slug)
            .executeTakeFirstOrThrow()
        ).id,
        user_id: both.userId,
        role: "owner",
      })
      .execute();
    const token = await tokenIn(api, both, outsider.slug);
    expect((await token.get(`orgs/${slug}`)).status).toBe(404);
    expect((await token.get(`orgs/${outsider.slug}`)).status).toBe(200);
    expect((await outsider.owner.session.get("orgs/nothing-here")).status).toBe(404);
  });

  it("lets a token list and revoke only its own org's tokens of its holder", async () => {
    const { slug } = await newOrg(api);
    const other = await newOrg(api);
    const both = await memberOf(api, slug, "member");
    await api.stores.db
      .insertInto("memberships")
      .values({ org_id: await orgIdOf(other.slug), user_id: both.userId, role: "member" })
      .execute();
    const here = await tokenIn(api, both, slug);
    await tokenIn(api, both, other.slug);
    const all = (await both.session.get("me/tokens")).body.items as { id: string; org: string }[];
    expect(all.map((t) => t.org).sort()).toEqual([slug, other.slug].sort());
    const listed = (await here.get("me/tokens")).body.items as { org: string }[];
    expect(listed.map((t) => t.org)).toEqual([slug]);
    const elsewhere = all.find((t) => t.org === other.slug);
    const refused = await here.delete(`me/tokens/${elsewhere?.id}`);
    expect(refused.status).toBe(404);
    expect((await both.session.get("me/tokens")).body.items.filter((t: { revokedAt: unknown }) => t.revokedAt)).toEqual(
      [],
    );
  });

  it("lists members to every member, oldest first", async () => {
    const { slug, owner } = await newOrg(api);
    const viewer = await memberOf(api, slug, "viewer");
    const response = await viewer.session.get(`orgs/${slug}/members`);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual([
      {
        userId: owner.userId,
        email: owner.email,
        name: null,
        role: "owner",
        joinedAt: expect.any(String),
        revision: 1,
      },
      {
        userId: viewer.userId,
        email: viewer.email,
        name: null,
        role: "viewer",
        joinedAt: expect.any(String),
        revision: 1,
      },
    ]);
  });

  it("shows one member with the ETag of its revision, as the list does", async () => {
    const { slug, owner } = await newOrg(api);
    const viewer = await memberOf(api, slug, "viewer");
    expect((await changeRole(owner, slug, viewer.userId, "member")).status).toBe(200);
    const one = await viewer.session.get(`orgs/${slug}/members/${viewer.userId}`);
    expect(one.status).toBe(200);
    expect(one.headers.etag).toBe('"r2"');
    const listed = (await viewer.session.get(`orgs/${slug}/members`)).body.items;
    expect(listed.find((m: { userId: string }) => m.userId === viewer.userId)).toEqual(one.body);
    expect(one.body).toMatchObject({ role: "member", revision: 2 });
    const stranger = await newOrg(api);
    const missing = await owner.session.get(`orgs/${slug}/members/${stranger.owner.userId}`);
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe("no such member in this org");
    expect((await stranger.owner.session.get(`orgs/${slug}/members/${viewer.userId}`)).status).toBe(404);
  });

  it("changes a role only with the member's current ETag: 428 without, 412 when stale, the new ETag after", async () => {
    const { slug, owner } = await newOrg(api);
    const member = await memberOf(api, slug, "member");
    const url = `orgs/${slug}/members/${member.userId}`;
    const first = await etagAt(owner.session, url);
    const missing = await owner.session.patch(url, { role: "viewer" });
    expect(missing.status).toBe(428);
    expect(missing.body.detail).toBe("send If-Match with the ETag from your last read");
    expect(await roleOf(slug, member.userId)).toBe("member");

    const changed = await owner.session.patch(url, { role: "viewer" }, { "if-match": first });
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).toBe('"r2"');
    expect(changed.body).toMatchObject({ role: "viewer", revision: 2 });

    const stale = await owner.session.patch(url, { role: "admin" }, { "if-match": first });
    expect(stale.status).toBe(412);
    expect(stale.body.detail).toBe(`the member ${member.email} changed since revision 1; read it again`);
    expect(await roleOf(slug, member.userId)).toBe("viewer");
    // Asking for the role it has changes nothing: same revision, same ETag.
    const same = await owner.session.patch(url, { role: "viewer" }, { "if-match": changed.headers.etag as string });
    expect(same.status).toBe(200);
    expect(same.headers.etag).toBe('"r2"');
  });

  it("lets one of two role changes sent with the same ETag through, and refuses the other with 412", async () => {
    const { slug, owner } = await newOrg(api);
    const admin = await memberOf(api, slug, "admin");
    const member = await memberOf(api, slug, "member");
    const url = `orgs/${slug}/members/${member.userId}`;
    const ifMatch = { "if-match": await etagAt(owner.session, url) };
    const both = await Promise.all([
      owner.session.patch(url, { role: "viewer" }, ifMatch),
      admin.session.patch(url, { role: "admin" }, ifMatch),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = both.find((r) => r.status === 200);
    expect(await roleOf(slug, member.userId)).toBe(winner?.body.role);
    const audit = (await owner.session.get(`orgs/${slug}/audit?action=member.role`)).body.items;
    expect(audit).toHaveLength(1);
  });

  // [actor, the member's role, the role asked for, status]
  it.each([
    ["owner", "member", "admin", 200],
    ["owner", "admin", "owner", 200],
    ["owner", "owner", "admin", 200],
    ["owner", "viewer", "viewer", 200],
    ["admin", "member", "admin", 200],
    ["admin", "viewer", "member", 200],
    ["admin", "admin", "viewer", 200],
    ["admin", "member", "owner", 403],
    ["admin", "owner", "member", 403],
    ["member", "viewer", "member", 403],
    ["viewer", "member", "viewer", 403],
  ] as [OrgRole, OrgRole, OrgRole, number][])(
    "lets a %s change a %s to %s: %i",
    async (actorRole, from, to, status) => {
      const { slug } = await newOrg(api);
      const actor = await memberOf(api, slug, actorRole);
      const target = await memberOf(api, slug, from);
      const response = await changeRole(actor, slug, target.userId, to);
      expect(response.status).toBe(status);
      expect(await roleOf(slug, target.userId)).toBe(status === 200 ? to : from);
      if (status === 200) expect(response.body).toMatchObject({ userId: target.userId, email: target.email, role: to });
    },
  );

  it("never demotes the last owner, even when two owners demote each other at once", async () => {
    const { slug, owner } = await newOrg(api);
    const alone = await changeRole(owner, slug, owner.userId, "admin");
    expect(alone.status).toBe(409);
    expect(alone.body.detail).toMatch(/last owner/);

    // Each change is checked against the roles as they are once the other has committed.
    const second = await memberOf(api, slug, "owner");
    // Each has the ETag of the other's membership, read before either change.
    const ifMatch = async (userId: string) => ({
      "if-match": await etagAt(owner.session, `orgs/${slug}/members/${userId}`),
    });
    const [ownersEtag, secondsEtag] = [await ifMatch(owner.userId), await ifMatch(second.userId)];
    const crossed = await Promise.all([
      owner.session.patch(`orgs/${slug}/members/${second.userId}`, { role: "admin" }, secondsEtag),
      second.session.patch(`orgs/${slug}/members/${owner.userId}`, { role: "admin" }, ownersEtag),
    ]);
    // The loser is no longer an owner by the time its change runs.
    expect(crossed.map((r) => r.status).sort()).toEqual([200, 403]);
    const owners = async (people: Person[]) =>
      (await Promise.all(people.map((p) => roleOf(slug, p.userId)))).filter((role) => role === "owner").length;
    expect(await owners([owner, second])).toBe(1);

    const [stillOwner] = (await owner.session.get(`orgs/${slug}/members`)).body.items.filter(
      (m: { role: string }) => m.role === "owner",
    );
    const third = await memberOf(api, slug, "owner");
    const selves = [stillOwner.userId === owner.userId ? owner : second, third];
    const etags = await Promise.all(selves.map((p) => ifMatch(p.userId)));
    const stepDowns = await Promise.all(
      selves.map((p, i) => p.session.patch(`orgs/${slug}/members/${p.userId}`, { role: "member" }, etags[i])),
    );
    expect(stepDowns.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await owners(selves)).toBe(1);
  });

  it("refuses an unknown role, a user who is not a member, and a malformed id", async () => {
    const { slug, owner } = await newOrg(api);
    const member = await memberOf(api, slug, "member");
    expect((await owner.session.patch(`orgs/${slug}/members/${member.userId}`, { role: "god" })).status).toBe(400);
    const stranger = await newOrg(api);
    expect(
      (await owner.session.patch(`orgs/${slug}/members/${stranger.owner.userId}`, { role: "viewer" })).status,
    ).toBe(404);
    expect((await owner.session.patch(`orgs/${slug}/members/nope`, { role: "viewer" })).status).toBe(400);
  });

  // [actor, the member's role, status]
  it.each([
    ["owner", "owner", 204],
    ["owner", "admin", 204],
    ["admin", "admin", 204],
    ["admin", "member", 204],
    ["admin", "owner", 403],
    ["member", "viewer", 403],
    ["viewer", "viewer", 403],
  ] as [OrgRole, OrgRole, number][])("lets a %s remove a %s: %i", async (actorRole, targetRole, status) => {
    const { slug } = await newOrg(api);
    const actor = await memberOf(api, slug, actorRole);
    const target = await memberOf(api, slug, targetRole);
    const response = await actor.session.delete(`orgs/${slug}/members/${target.userId}`);
    expect(response.status).toBe(status);
    expect(await roleOf(slug, target.userId)).toBe(status === 204 ? undefined : targetRole);
  });

  it("lets anyone leave, except the last owner", async () => {
    const { slug, owner } = await newOrg(api);
    const viewer = await memberOf(api, slug, "viewer");
    expect((await viewer.session.delete(`orgs/${slug}/members/${viewer.userId}`)).status).toBe(204);
    expect((await viewer.session.get(`orgs/${slug}`)).status).toBe(404);
    const last = await owner.session.delete(`orgs/${slug}/members/${owner.userId}`);
    expect(last.status).toBe(409);
    expect(last.body.detail).toMatch(/last owner/);
    const other = await memberOf(api, slug, "owner");
    expect((await owner.session.delete(`orgs/${slug}/members/${owner.userId}`)).status).toBe(204);
    expect((await other.session.get(`orgs/${slug}/members`)).body.items.map((m: Person) => m.userId)).toEqual([
      other.userId,
    ]);
  });

  it("revokes a removed member's tokens for the org, and audits role changes and removals", async () => {
    const { slug, owner } = await newOrg(api);
    const member = await memberOf(api, slug, "member");
    const token = await tokenIn(api, member, slug);
    expect((await token.get(`orgs/${slug}`)).status).toBe(200);
    expect((await changeRole(owner, slug, member.userId, "viewer")).status).toBe(200);
    expect((await owner.session.delete(`orgs/${slug}/members/${member.userId}`)).status).toBe(204);
    const refused = await token.get(`orgs/${slug}`);
    expect(refused.status).toBe(401);
    const listed = (await member.session.get("me/tokens")).body.items;
    expect(listed[0].revokedAt).not.toBeNull();
    const audit = (await owner.session.get(`orgs/${slug}/audit?targetType=user`)).body.items;
    expect(audit.map((e: { action: string; detail: unknown }) => [e.action, e.detail])).toEqual([
      ["member.remove", { email: member.email, role: "viewer", left: false }],
      ["member.role", { email: member.email, from: "member", to: "viewer" }],
    ]);
  });
});
