// Test helper for the orgs-, keys- and audit- suites: people with a given role, made directly in
// the database. Sign-up through the API is rate-limited per address (10 per instance), and
// these suites need dozens of accounts.
import { createHash, randomBytes } from "node:crypto";
import type { OrgRole } from "@isola/schema";
import { type Api, Client } from "../support/api-harness.ts";

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

export interface Person {
  userId: string;
  email: string;
  /** A browser session (cookie + CSRF): acts in every org the person belongs to. */
  session: Client;
}

/** A new account with a browser session and no org. */
export async function person(api: Api, email = `p-${randomBytes(4).toString("hex")}@example.com`): Promise<Person> {
  const db = api.stores.db;
  const user = await db.insertInto("users").values({ email }).returning("id").executeTakeFirstOrThrow();
  const cookie = randomBytes(32).toString("base64url");
  const csrf = randomBytes(24).toString("base64url");
  await db
    .insertInto("sessions")
    .values({ id: sha256(cookie), user_id: user.id, csrf_token: csrf, expires_at: new Date(Date.now() + 86_400_000) })
    .execute();
  return {
    userId: user.id,
    email,
    session: new Client(api.app, { cookie: `isola_session=${cookie}`, "x-csrf-token": csrf }),
  };
}

export async function orgId(api: Api, slug: string): Promise<string> {
  const row = await api.stores.db.selectFrom("orgs").select("id").where("slug", "=", slug).executeTakeFirstOrThrow();
  return row.id;
}

/** A new account that is `role` in `org`. */
export async function memberOf(api: Api, org: string, role: OrgRole): Promise<Person> {
  const someone = await person(api);
  await api.stores.db
    .insertInto("memberships")
    .values({ org_id: await orgId(api, org), user_id: someone.userId, role })
    .execute();
  return someone;
}

/** A new org owned by a new account (made directly: no sign-up, so no rate limit). */
export async function newOrg(
  api: Api,
  slug = `org-${randomBytes(3).toString("hex")}`,
): Promise<{ slug: string; owner: Person }> {
  await api.stores.db.insertInto("orgs").values({ slug, name: slug, plan_id: "default" }).execute();
  return { slug, owner: await memberOf(api, slug, "owner") };
}

/** A personal access token client for `someone`, scoped to `org` (made through the API). */
export async function tokenIn(api: Api, someone: Person, org: string): Promise<Client> {
  return api.tokenFor(someone.session, org);
}

/** The bootstrapped owner's org. */
export async function adminOrg(api: Api): Promise<string> {
  return (await api.admin.get("me")).body.orgs[0].slug;
}
