import type { OrgRole } from "@isola/schema";
import { mayAssignRole, roleAllows } from "../auth/rbac.ts";

/** Why a membership change is refused: 403 (your role does not allow it) or 409 (the org would lose its last owner). */
export type Refusal = { code: "forbidden" | "conflict"; detail: string } | null;

const LAST_OWNER = "the org's last owner cannot be demoted or removed; make someone else owner first";

/**
 * Whether `actor` may change a member's role from `from` to `to`, in an org with `owners`
 * owners. Pure: the routes call it with roles read under the org's lock.
 */
export function refuseRoleChange(actor: OrgRole, from: OrgRole, to: OrgRole, owners: number): Refusal {
  if (!roleAllows(actor, "members:manage"))
    return { code: "forbidden", detail: `admins and owners manage members; you are ${actor}` };
  if (from === "owner" && actor !== "owner") return { code: "forbidden", detail: "only owners change an owner's role" };
  if (!mayAssignRole(actor, to)) return { code: "forbidden", detail: `only owners make owners; you are ${actor}` };
  if (from === "owner" && to !== "owner" && owners <= 1) return { code: "conflict", detail: LAST_OWNER };
  return null;
}

/** Whether `actor` may remove a member whose role is `target` (`self`: the actor is leaving). */
export function refuseRemoval(actor: OrgRole, target: OrgRole, self: boolean, owners: number): Refusal {
  if (!self) {
    if (!roleAllows(actor, "members:manage"))
      return { code: "forbidden", detail: `admins and owners remove members; you are ${actor}` };
    // Removing is at least as strong as assigning: nobody removes a role above their own.
    if (!mayAssignRole(actor, target)) return { code: "forbidden", detail: "only owners remove an owner" };
  }
  if (target === "owner" && owners <= 1) return { code: "conflict", detail: LAST_OWNER };
  return null;
}
