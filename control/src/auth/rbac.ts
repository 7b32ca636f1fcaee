import { ORG_ROLES, type OrgRole } from "@isola/schema";

/**
 * Who may do what in an org: each permission names the least role that has it. Roles are
 * ordered owner > admin > member > viewer. This table is the policy; docs/API.md prints it and
 * the RBAC matrix test checks every route against it.
 */
export const PERMISSIONS = {
  "org:read": "viewer",
  "org:update": "owner",
  "members:read": "viewer",
  "members:manage": "admin",
  "servers:read": "viewer",
  "servers:create": "member",
  "servers:update": "member",
  "servers:deploy": "member",
  "servers:delete": "admin",
  "secrets:read": "member",
  "secrets:write": "member",
  "keys:read": "member",
  "keys:manage": "member",
  "usage:read": "viewer",
  "audit:read": "admin",
} as const satisfies Record<string, OrgRole>;

export type Permission = keyof typeof PERMISSIONS;

const RANK: Record<OrgRole, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export function roleAllows(role: OrgRole, permission: Permission): boolean {
  return RANK[role] >= RANK[PERMISSIONS[permission]];
}

/** Whether `actor` may give `target` to someone: never a role above your own; only owners make owners. */
export function mayAssignRole(actor: OrgRole, target: OrgRole): boolean {
  return RANK[actor] >= RANK[target] && roleAllows(actor, "members:manage");
}

export const ROLES_BY_RANK: readonly OrgRole[] = [...ORG_ROLES].sort((a, b) => RANK[b] - RANK[a]);
