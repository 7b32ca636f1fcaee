import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

/**
 * The Kysely `Database` interface: one entry per table, kept in step with ./migrations.
 * A migration that changes a table changes its interface here in the same commit.
 */
export interface Database {
  users: UsersTable;
  orgs: OrgsTable;
  memberships: MembershipsTable;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface UsersTable {
  id: Generated<string>;
  /** Stored as given; uniqueness is case-insensitive (index on lower(email)). */
  email: string;
  display_name: string | null;
  created_at: CreatedAt;
}

export interface OrgsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  created_at: CreatedAt;
}

export const ORG_ROLES = ["owner", "admin", "member", "viewer"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: OrgRole;
  created_at: CreatedAt;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Org = Selectable<OrgsTable>;
export type NewOrg = Insertable<OrgsTable>;
export type Membership = Selectable<MembershipsTable>;
