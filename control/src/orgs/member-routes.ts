import { type Database, memberView, type OrgRole, orgParams, updateMemberBody } from "@isola/schema";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Kysely, sql } from "kysely";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { changedSince, etagOf, revisionFromIfMatch } from "../http/etag.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadOrg } from "./load-org.ts";
import { type Refusal, refuseRemoval, refuseRoleChange } from "./member-rules.ts";

const memberParams = orgParams.extend({ userId: z.uuid() });

const members = (db: Kysely<Database>, orgId: string) =>
  db
    .selectFrom("memberships as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["m.user_id", "u.email", "u.display_name", "m.role", "m.revision", "m.created_at"])
    .where("m.org_id", "=", orgId);

const toMemberView = (row: {
  user_id: string;
  email: string;
  display_name: string | null;
  role: OrgRole;
  revision: number;
  created_at: Date;
}) => ({
  userId: row.user_id,
  email: row.email,
  name: row.display_name,
  role: row.role,
  joinedAt: row.created_at.toISOString(),
  revision: row.revision,
});

const NO_SUCH_MEMBER = "no such member in this org";

function raise(refusal: Refusal): void {
  if (refusal) throw problem(refusal.code, refusal.detail);
}

/**
 * Under the org's row lock (so that two changes at once cannot both remove "the other" owner):
 * the actor's role, the member's row and the number of owners, as they are now.
 */
async function lockedState(trx: Kysely<Database>, request: FastifyRequest, orgId: string, userId: string) {
  await trx.selectFrom("orgs").select("id").where("id", "=", orgId).forUpdate().execute();
  const roles = await trx.selectFrom("memberships").select(["user_id", "role"]).where("org_id", "=", orgId).execute();
  const actorRole = roles.find((row) => row.user_id === requireActor(request).userId)?.role;
  const target = await members(trx, orgId).where("m.user_id", "=", userId).executeTakeFirst();
  if (!actorRole || !target) throw problem("not-found", NO_SUCH_MEMBER);
  return { actorRole, target, owners: roles.filter((row) => row.role === "owner").length };
}

/** Members of an org and their roles; owners and admins manage them, anyone may leave. */
export function memberRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org/members",
    operationId: "listMembers",
    summary: "An org's members and their roles, oldest first (each with its revision, for If-Match)",
    tag: "orgs",
    access: "members:read",
    params: orgParams,
    status: 200,
    response: z.object({ items: z.array(memberView) }),
    problems: ["not-found"],
    async handler({ params, request }) {
      const org = await loadOrg(db, request, params.org, "members:read");
      const rows = await members(db, org.id).orderBy("m.created_at").orderBy("u.email").execute();
      return { items: rows.map(toMemberView) };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org/members/:userId",
    operationId: "getMember",
    summary: "A member and their role (ETag for updates)",
    tag: "orgs",
    access: "members:read",
    params: memberParams,
    status: 200,
    response: memberView,
    problems: ["not-found"],
    async handler({ params, request, reply }) {
      const org = await loadOrg(db, request, params.org, "members:read");
      const row = await members(db, org.id).where("m.user_id", "=", params.userId).executeTakeFirst();
      if (!row) throw problem("not-found", NO_SUCH_MEMBER);
      reply.header("etag", etagOf(row.revision));
      return toMemberView(row);
    },
  });

  addRoute(app, context, {
    method: "PATCH",
    url: "/orgs/:org/members/:userId",
    operationId: "updateMember",
    summary: "Change a member's role (If-Match required; only owners make or change owners; the last owner stays)",
    tag: "orgs",
    access: "members:manage",
    params: memberParams,
    body: updateMemberBody,
    status: 200,
    response: memberView,
    problems: ["not-found", "forbidden", "conflict", "precondition-failed", "precondition-required"],
    async handler({ params, body, request, reply }) {
      const org = await loadOrg(db, request, params.org, "members:manage");
      const updated = await db.transaction().execute(async (trx) => {
        const { actorRole, target, owners } = await lockedState(trx, request, org.id, params.userId);
        const expected = revisionFromIfMatch(request.headers["if-match"]);
        const stale = changedSince(`the member ${target.email}`, expected);
        // Under the org's lock every role change is serialised: the row read is the row updated.
        if (target.revision !== expected) throw stale;
        raise(refuseRoleChange(actorRole, target.role, body.role, owners));
        if (target.role === body.role) return target;
        const row = await trx
          .updateTable("memberships")
          .set({ role: body.role, revision: sql<number>`revision + 1` })
          .where("org_id", "=", org.id)
          .where("user_id", "=", params.userId)
          .where("revision", "=", expected)
          .returning(["role", "revision"])
          .executeTakeFirst();
        if (!row) throw stale;
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "member.role",
          targetType: "user",
          targetId: params.userId,
          detail: { email: target.email, from: target.role, to: body.role },
        });
        return { ...target, ...row };
      });
      reply.header("etag", etagOf(updated.revision));
      return toMemberView(updated);
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/orgs/:org/members/:userId",
    operationId: "removeMember",
    summary: "Remove a member (admins and owners), or leave (anyone); never the last owner",
    tag: "orgs",
    access: "members:manage",
    params: memberParams,
    status: 204,
    response: null,
    problems: ["not-found", "forbidden", "conflict"],
    async handler({ params, request }) {
      const self = requireActor(request).userId === params.userId;
      // Leaving needs only membership; removing someone else needs members:manage.
      const org = await loadOrg(db, request, params.org, self ? "org:read" : "members:manage");
      await db.transaction().execute(async (trx) => {
        const { actorRole, target, owners } = await lockedState(trx, request, org.id, params.userId);
        raise(refuseRemoval(actorRole, target.role, self, owners));
        await trx.deleteFrom("memberships").where("org_id", "=", org.id).where("user_id", "=", params.userId).execute();
        // Their tokens for this org would be refused anyway; revoking them says so in their list.
        await trx
          .updateTable("personal_access_tokens")
          .set({ revoked_at: new Date() })
          .where("org_id", "=", org.id)
          .where("user_id", "=", params.userId)
          .where("revoked_at", "is", null)
          .execute();
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "member.remove",
          targetType: "user",
          targetId: params.userId,
          detail: { email: target.email, role: target.role, left: self },
        });
      });
      return undefined;
    },
  });
}
