import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api, Client } from "../support/api-harness.ts";
import { startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { memberOf, newOrg, type Person, tokenIn } from "./orgs-people.ts";

type Entry = { id: string; at: string; action: string; actor: { type: string }; target: { type: string; id: string } };

describe.each(databaseBackends())("the audit log API on $name", (backend) => {
  let api: Api;
  let org: string;
  let owner: Person;
  let token: Client;
  /** The org's entries, newest first, as the database holds them. */
  let all: Entry[];
  const audit = (query = "") => owner.session.get(`orgs/${org}/audit${query}`);

  beforeAll(async () => {
    api = await startApi(backend);
    ({ slug: org, owner } = await newOrg(api, "audited"));
    token = await tokenIn(api, owner, org);
    // A history with users, a token and the system as actors, over servers, keys and members.
    await owner.session.post("servers", { slug: "audited-a", name: "A", authMode: "api_key", org });
    await token.post("servers", { slug: "audited-b", name: "B", authMode: "public" });
    await owner.session.post("servers/audited-a/keys", { name: "k" });
    await owner.session.delete("servers/audited-b");
    const { etag } = (await owner.session.get(`orgs/${org}`)).headers;
    await owner.session.patch(`orgs/${org}`, { name: "Audited Inc" }, { "if-match": String(etag) });
    const orgRow = await api.stores.db
      .selectFrom("orgs")
      .select("id")
      .where("slug", "=", org)
      .executeTakeFirstOrThrow();
    await api.stores.db
      .insertInto("audit_log")
      .values({
        org_id: orgRow.id,
        actor_type: "system",
        actor_label: "system",
        action: "plan.change",
        target_type: "org",
        target_id: orgRow.id,
        detail: "{}",
      })
      .execute();
    all = (await audit("?limit=200")).body.items;
    // Spread the entries one day apart (newest today), so that time filters have clear edges.
    for (const [index, entry] of all.entries()) {
      // created_at is insert-only in the table types: tests move time with plain SQL.
      await sql`update audit_log set created_at = ${new Date(Date.UTC(2025, 0, 31 - index, 12)).toISOString()}::timestamptz
        where id = ${entry.id}::bigint`.execute(api.stores.db);
    }
    all = (await audit("?limit=200")).body.items;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("lists the org's entries newest first, with actor, target, source address and detail", async () => {
    expect(all.map((e) => e.action)).toEqual([
      "plan.change",
      "org.update",
      "server.delete",
      "key.create",
      "server.create",
      "server.create",
      "token.create",
    ]);
    const ids = all.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a < b ? 1 : -1))).toEqual(ids);
    expect(all[1]).toMatchObject({
      action: "org.update",
      actor: { type: "user", id: owner.userId, label: owner.email },
      target: { type: "org" },
      sourceIp: "127.0.0.1",
      detail: { name: { from: org, to: "Audited Inc" } },
    });
    expect(all[4]).toMatchObject({ actor: { type: "token", label: expect.stringContaining("(token ") } });
    expect(all[0]).toMatchObject({ actor: { type: "system", id: null, label: "system" }, sourceIp: null });
  });

  it("shows no other org's entries", async () => {
    const admins = await api.admin.get(`orgs/${(await api.admin.get("me")).body.orgs[0].slug}/audit`);
    expect(admins.status).toBe(200);
    const ids = new Set(all.map((e) => e.id));
    expect(admins.body.items.some((e: Entry) => ids.has(e.id))).toBe(false);
  });

  it.each([
    ["an exact action", "?action=server.create", (e: Entry) => e.action === "server.create"],
    ["an action prefix", "?action=server.", (e: Entry) => e.action.startsWith("server.")],
    ["a prefix that is not a whole segment", "?action=serv.", () => false],
    ["the actor type token", "?actorType=token", (e: Entry) => e.actor.type === "token"],
    ["the actor type system", "?actorType=system", (e: Entry) => e.actor.type === "system"],
    ["a target type", "?targetType=api_key", (e: Entry) => e.target.type === "api_key"],
    [
      "a time range",
      "?from=2025-01-27T12:00:00Z&to=2025-01-30T12:00:00Z",
      (e: Entry) => e.at < "2025-01-30" && e.at >= "2025-01-27T12",
    ],
    ["a time with an offset", "?from=2025-01-30T14:00:00%2B02:00", (e: Entry) => e.at >= "2025-01-30T12"],
    [
      "combined filters",
      "?action=server.&actorType=user",
      (e: Entry) => e.action.startsWith("server.") && e.actor.type === "user",
    ],
  ])("filters by %s", async (_case, query, keep) => {
    const response = await audit(query);
    expect(response.status).toBe(200);
    expect(response.body.items).toEqual(all.filter(keep));
  });

  it("filters by target id", async () => {
    const target = all.find((e) => e.action === "key.create") as Entry;
    const response = await audit(`?targetType=api_key&targetId=${target.target.id}`);
    expect(response.body.items).toEqual([target]);
  });

  it("pages with a cursor until next is null, without gaps or repeats, filters included", async () => {
    const seen: Entry[] = [];
    let next: string | null = null;
    do {
      const response: { body: { items: Entry[]; next: string | null } } = await audit(
        `?limit=2${next ? `&cursor=${next}` : ""}`,
      );
      expect(response.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...response.body.items);
      next = response.body.next;
    } while (next);
    expect(seen).toEqual(all);

    const first = await audit("?action=server.&limit=1");
    const second = await audit(`?action=server.&limit=2&cursor=${first.body.next}`);
    expect([...first.body.items, ...second.body.items]).toEqual(all.filter((e) => e.action.startsWith("server.")));
    expect(second.body.next).toBeNull();
  });

  it.each([
    ["an unknown actor type", "?actorType=robot", /actorType/],
    ["a date that is not ISO", "?from=yesterday", /from/],
    ["from after to", "?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z", /from must be before to/],
    ["a wildcard action", "?action=server.*", /action/],
    ["a limit of 0", "?limit=0", /limit/],
    ["a limit over 200", "?limit=201", /limit/],
    ["an unknown parameter", "?acton=server.create", /acton/],
    ["a repeated parameter", "?action=a&action=b", /action/],
    ["a cursor it did not give out", "?cursor=garbage", /cursor/],
    ["a cursor with a non-numeric id", `?cursor=${Buffer.from('{"id":"1 or 1=1"}').toString("base64url")}`, /cursor/],
  ])("refuses %s with 400", async (_case, query, message) => {
    const response = await audit(query);
    expect(response.status).toBe(400);
    expect(response.body.type).toBe("urn:isola:problem:invalid-request");
    expect(JSON.stringify(response.body)).toMatch(message);
  });

  it.each([
    ["viewer", 403],
    ["member", 403],
    ["admin", 200],
    ["owner", 200],
  ] as const)("answers a %s with %i", async (role, status) => {
    const someone = await memberOf(api, org, role);
    const response = await someone.session.get(`orgs/${org}/audit`);
    expect(response.status).toBe(status);
    if (status === 403) expect(response.body.detail).toMatch(/admin/);
  });

  it("answers 404 to a non-member, a token for another org and an unknown org, and 401 to nobody", async () => {
    const outsider = await newOrg(api);
    expect((await outsider.owner.session.get(`orgs/${org}/audit`)).status).toBe(404);
    // The owner's token for their other org cannot read this one.
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
        user_id: owner.userId,
        role: "owner",
      })
      .execute();
    const elsewhere = await tokenIn(api, owner, outsider.slug);
    expect((await elsewhere.get(`orgs/${org}/audit`)).status).toBe(404);
    expect((await owner.session.get("orgs/no-such-org/audit")).status).toBe(404);
    expect((await api.anonymous.get(`orgs/${org}/audit`)).status).toBe(401);
  });
});
