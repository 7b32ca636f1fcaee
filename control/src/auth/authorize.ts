import type { Database, OrgRole } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { problem } from "../http/problems.ts";
import type { Actor } from "./actor.ts";
import { PERMISSIONS, type Permission, roleAllows } from "./rbac.ts";

/** The caller, or 401. */
export function requireActor(request: FastifyRequest): Actor {
  if (request.actorError) throw request.actorError;
  if (!request.actor) throw problem("unauthenticated", "sign in, or send a personal access token");
  return request.actor;
}

/**
 * The caller's role in `orgId` if it allows `permission`. Not a member (or a token for another
 * org): 404, so that other orgs' resources do not reveal that they exist. A member whose role is
 * too low: 403 naming the role needed.
 */
export async function authorize(
  db: Kysely<Database>,
  request: FastifyRequest,
  orgId: string,
  permission: Permission,
  notFound = "not found",
): Promise<OrgRole> {
  const actor = requireActor(request);
  if (actor.via === "token" && actor.orgId !== orgId) throw problem("not-found", notFound);
  const membership = await db
    .selectFrom("memberships")
    .select("role")
    .where("org_id", "=", orgId)
    .where("user_id", "=", actor.userId)
    .executeTakeFirst();
  if (!membership) throw problem("not-found", notFound);
  if (!roleAllows(membership.role, permission)) {
    throw problem("forbidden", `this needs the ${PERMISSIONS[permission]} role or above; you are ${membership.role}`);
  }
  return membership.role;
}
