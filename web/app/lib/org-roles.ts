import type { OrgRole } from "@isola/schema";

// What the signed-in user may do in an org, as control's policy has it (control/src/auth/rbac.ts,
// docs/API.md "Who may call what"). The pages only decide what to offer: control still decides.

const RANK: Record<OrgRole, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** Roles, highest first, as the role pickers list them. */
export const ROLES_HIGHEST_FIRST: readonly OrgRole[] = ["owner", "admin", "member", "viewer"];

export const atLeast = (role: OrgRole, least: OrgRole) => RANK[role] >= RANK[least];

/** Inviting, changing roles, removing others: `members:manage`, admins and owners. */
export const mayManageMembers = (role: OrgRole) => atLeast(role, "admin");

/** The audit log: `audit:read`, admins and owners. */
export const mayReadAudit = (role: OrgRole) => atLeast(role, "admin");

/** The org's name and model key: `org:update`, owners only. */
export const mayUpdateOrg = (role: OrgRole) => role === "owner";

/** Nobody assigns or invites a role above their own (only owners make owners). */
export const assignableRoles = (mine: OrgRole): OrgRole[] => ROLES_HIGHEST_FIRST.filter((role) => atLeast(mine, role));

/** Whether `mine` may change or remove a member who holds `theirs` (not someone above them). */
export const mayChangeMember = (mine: OrgRole, theirs: OrgRole) => mayManageMembers(mine) && atLeast(mine, theirs);

export const ROLE_LABELS: Record<OrgRole, string> = {
  owner: "Owner",
  admin: "Admin",
  member: "Member",
  viewer: "Viewer",
};
