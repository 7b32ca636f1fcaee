import {
  acceptedInvitation,
  acceptInvitationBody,
  createdInvitation,
  createInvitationBody,
  invitationView,
  orgParams,
} from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { z } from "zod";
import { recordAudit } from "../audit/record.ts";
import { requireActor } from "../auth/authorize.ts";
import { mayAssignRole } from "../auth/rbac.ts";
import { hashToken, newToken } from "../auth/secrets-at-rest.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { loadOrg } from "./load-org.ts";

const INVITATION_DAYS = 7;

/** Invitations by single-use link: the token is shown once (in the link) and stored as sha256. */
export function invitationRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db, config } = deps;
  const now = () => deps.now?.() ?? new Date();

  addRoute(app, context, {
    method: "POST",
    url: "/orgs/:org/invitations",
    operationId: "createInvitation",
    summary: `Invite someone by email; the link (valid ${INVITATION_DAYS} days, single use) is shown only in this response`,
    tag: "orgs",
    access: "members:manage",
    params: orgParams,
    body: createInvitationBody,
    status: 201,
    response: createdInvitation,
    problems: ["not-found", "forbidden", "conflict"],
    idempotent: true,
    secretInResponse: true,
    async handler({ params, body, request }) {
      const org = await loadOrg(db, request, params.org, "members:manage");
      if (!mayAssignRole(org.role, body.role)) {
        throw problem("forbidden", `only owners invite owners; you are ${org.role}`);
      }
      const member = await db
        .selectFrom("memberships as m")
        .innerJoin("users as u", "u.id", "m.user_id")
        .select("m.user_id")
        .where("m.org_id", "=", org.id)
        .where(sql`lower(u.email)`, "=", body.email.toLowerCase())
        .executeTakeFirst();
      if (member) throw problem("conflict", `${body.email} is already a member of ${org.slug}`);
      const { token, hash } = newToken("invitation");
      const expires = new Date(now().getTime() + INVITATION_DAYS * 86_400_000);
      const row = await db.transaction().execute(async (trx) => {
        // A new invitation replaces a pending one for the same address: the older link stops working.
        await trx
          .deleteFrom("invitations")
          .where("org_id", "=", org.id)
          .where(sql`lower(email)`, "=", body.email.toLowerCase())
          .where("accepted_at", "is", null)
          .execute();
        const inserted = await trx
          .insertInto("invitations")
          .values({
            org_id: org.id,
            email: body.email,
            role: body.role,
            token_hash: hash,
            invited_by: requireActor(request).userId,
            expires_at: expires,
          })
          .returning(["id", "email", "role", "expires_at"])
          .executeTakeFirstOrThrow();
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "invitation.create",
          targetType: "invitation",
          targetId: inserted.id,
          detail: { email: body.email, role: body.role },
        });
        return inserted;
      });
      return {
        id: row.id,
        email: row.email,
        role: row.role,
        expiresAt: row.expires_at.toISOString(),
        link: `${config.publicUrl}/invitations/${token}`,
      };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/orgs/:org/invitations",
    operationId: "listInvitations",
    summary: "Pending invitations (not accepted, not expired), newest first; never their links",
    tag: "orgs",
    access: "members:manage",
    params: orgParams,
    status: 200,
    response: z.object({ items: z.array(invitationView) }),
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const org = await loadOrg(db, request, params.org, "members:manage");
      const rows = await db
        .selectFrom("invitations as i")
        .leftJoin("users as u", "u.id", "i.invited_by")
        .select(["i.id", "i.email", "i.role", "i.expires_at", "u.email as invited_by"])
        .where("i.org_id", "=", org.id)
        .where("i.accepted_at", "is", null)
        .where("i.expires_at", ">", now())
        .orderBy("i.created_at", "desc")
        .orderBy("i.id")
        .execute();
      return {
        items: rows.map((row) => ({
          id: row.id,
          email: row.email,
          role: row.role,
          expiresAt: row.expires_at.toISOString(),
          invitedBy: row.invited_by,
        })),
      };
    },
  });

  addRoute(app, context, {
    method: "DELETE",
    url: "/orgs/:org/invitations/:id",
    operationId: "revokeInvitation",
    summary: "Revoke an invitation that has not been accepted (its link stops working)",
    tag: "orgs",
    access: "members:manage",
    params: orgParams.extend({ id: z.uuid() }),
    status: 204,
    response: null,
    problems: ["not-found", "forbidden"],
    async handler({ params, request }) {
      const org = await loadOrg(db, request, params.org, "members:manage");
      await db.transaction().execute(async (trx) => {
        const removed = await trx
          .deleteFrom("invitations")
          .where("id", "=", params.id)
          .where("org_id", "=", org.id)
          .where("accepted_at", "is", null)
          .returning(["id", "email", "role"])
          .executeTakeFirst();
        if (!removed) throw problem("not-found", `${org.slug} has no unaccepted invitation with that id`);
        await recordAudit(trx, request, {
          orgId: org.id,
          action: "invitation.revoke",
          targetType: "invitation",
          targetId: removed.id,
          detail: { email: removed.email, role: removed.role },
        });
      });
      return undefined;
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/invitations/accept",
    operationId: "acceptInvitation",
    summary:
      "Join an org with an invitation's token (it must be for your email address; signed in, not with a personal access token)",
    tag: "orgs",
    access: "signed-in",
    body: acceptInvitationBody,
    status: 200,
    response: acceptedInvitation,
    problems: ["not-found", "forbidden", "conflict"],
    async handler({ body, request }) {
      const actor = requireActor(request);
      return db.transaction().execute(async (trx) => {
        // The row lock makes the link single use: a second accept waits, then sees it accepted.
        const invitation = await trx
          .selectFrom("invitations as i")
          .innerJoin("orgs as o", "o.id", "i.org_id")
          .select(["i.id", "i.org_id", "i.email", "i.role", "i.expires_at", "i.accepted_at", "o.slug"])
          .where("i.token_hash", "=", hashToken(body.token))
          .forUpdate("i")
          .executeTakeFirst();
        // The details say what is wrong with the link, never which org it is for.
        if (!invitation) throw problem("not-found", "this invitation link is not valid; ask for a new one");
        if (invitation.accepted_at) throw problem("not-found", "this invitation was already used; ask for a new one");
        if (invitation.expires_at <= now())
          throw problem("not-found", "this invitation has expired; ask for a new one");
        // A token acts in its own org only: a leaked one must not carry its holder into another org.
        if (actor.via === "token" && actor.orgId !== invitation.org_id) {
          throw problem(
            "forbidden",
            "a personal access token acts only in its own org and cannot join another; accept the invitation signed in",
          );
        }
        if (invitation.email.toLowerCase() !== actor.email.toLowerCase()) {
          throw problem("forbidden", "this invitation is for another email address; sign in with that account");
        }
        const joined = await trx
          .insertInto("memberships")
          .values({ org_id: invitation.org_id, user_id: actor.userId, role: invitation.role })
          .onConflict((c) => c.columns(["org_id", "user_id"]).doNothing())
          .returning("role")
          .executeTakeFirst();
        if (!joined) throw problem("conflict", `you are already a member of ${invitation.slug}`);
        await trx.updateTable("invitations").set({ accepted_at: now() }).where("id", "=", invitation.id).execute();
        await recordAudit(trx, request, {
          orgId: invitation.org_id,
          action: "invitation.accept",
          targetType: "invitation",
          targetId: invitation.id,
          detail: { email: invitation.email, role: invitation.role },
        });
        return { org: invitation.slug, role: invitation.role };
      });
    },
  });
}
