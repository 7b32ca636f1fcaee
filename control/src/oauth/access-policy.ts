import type { AccessPolicy, Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";

/** Who is asking, as far as a server's access policy cares. */
export interface Applicant {
  email: string;
  /** A member (any role) of the org that owns the server. */
  memberOfServerOrg: boolean;
}

/**
 * Whether a server's access policy lets this user authorize a client for it. Pure.
 * - `org`: the members of the server's org.
 * - `instance`: every account on this instance.
 * - `invite_list`: the org's members and the listed emails (compared case-insensitively), so
 *   that an org never locks itself out of its own server.
 */
export function admits(policy: AccessPolicy, applicant: Applicant): boolean {
  switch (policy.kind) {
    case "instance":
      return true;
    case "org":
      return applicant.memberOfServerOrg;
    case "invite_list": {
      const email = applicant.email.toLowerCase();
      return applicant.memberOfServerOrg || policy.emails.some((listed) => listed.toLowerCase() === email);
    }
  }
}

/** The applicant a user is for a server of `orgId`, or null when there is no such user. */
export async function applicantFor(db: Kysely<Database>, userId: string, orgId: string): Promise<Applicant | null> {
  const row = await db
    .selectFrom("users as u")
    .select([
      "u.email",
      sql<boolean>`exists (select 1 from memberships m where m.user_id = u.id and m.org_id = ${orgId})`.as("member"),
    ])
    .where("u.id", "=", userId)
    .executeTakeFirst();
  return row ? { email: row.email, memberOfServerOrg: row.member } : null;
}

/** Accounts are named by users.id: anything else names nobody (and must not reach a uuid column). */
export const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether the user may use the server (false for an unknown user). */
export async function userMayUse(
  db: Kysely<Database>,
  userId: string,
  server: { orgId: string; accessPolicy: AccessPolicy },
): Promise<boolean> {
  if (!ACCOUNT_ID.test(userId)) return false;
  const applicant = await applicantFor(db, userId, server.orgId);
  return applicant !== null && admits(server.accessPolicy, applicant);
}
