import { randomBytes } from "node:crypto";
import { loginBody, meView, signupBody } from "@isola/schema";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { recordAudit } from "../audit/record.ts";
import { type Actor, SESSION_COOKIE } from "../auth/actor.ts";
import { requireActor } from "../auth/authorize.ts";
import { hashPassword, newToken } from "../auth/secrets-at-rest.ts";
import type { ControlDeps } from "../deps.ts";
import { Problem, problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { sessionGrantId } from "../oauth/dashboard-tokens.ts";
import { announceGrantRevoked } from "../oauth/grants.ts";
import { createOrgWithOwner } from "./orgs.ts";
import { checkPassword, takeSignInAttempt } from "./sign-in.ts";

const SESSION_DAYS = 30;

async function me(deps: ControlDeps, actor: Actor) {
  const user = await deps.db
    .selectFrom("users")
    .select(["id", "email", "display_name"])
    .where("id", "=", actor.userId)
    .executeTakeFirstOrThrow();
  let orgs = deps.db
    .selectFrom("memberships as m")
    .innerJoin("orgs as o", "o.id", "m.org_id")
    .select(["o.slug", "o.name", "m.role"])
    .where("m.user_id", "=", actor.userId)
    .orderBy("o.slug");
  if (actor.via === "token") orgs = orgs.where("o.id", "=", actor.orgId);
  return {
    user: { id: user.id, email: user.email, name: user.display_name },
    orgs: await orgs.execute(),
    ...(actor.via === "session" ? { csrfToken: actor.csrfToken } : {}),
  };
}

/** Starts a browser session: an HttpOnly, SameSite=Lax cookie, and a CSRF token for writes. */
async function startSession(
  deps: ControlDeps,
  reply: FastifyReply,
  user: { id: string; email: string },
): Promise<Actor> {
  const { token, hash } = newToken("session");
  const csrfToken = randomBytes(24).toString("base64url");
  const expires = new Date(Date.now() + SESSION_DAYS * 86_400_000);
  await deps.db
    .insertInto("sessions")
    .values({ id: hash, user_id: user.id, csrf_token: csrfToken, expires_at: expires })
    .execute();
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "lax",
    secure: deps.config.publicUrl.startsWith("https:"),
    path: "/",
    expires,
  });
  return { via: "session", userId: user.id, email: user.email, sessionId: hash, csrfToken };
}

async function slowDownGuessing(deps: ControlDeps, request: FastifyRequest, email: string): Promise<void> {
  const attempt = await takeSignInAttempt(deps.bus, request.ip, email);
  if (!attempt.allowed) {
    throw new Problem(
      "rate-limited",
      "too many sign-in attempts; wait and try again",
      {},
      { "retry-after": String(attempt.retryAfterSeconds) },
    );
  }
}

export function sessionRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db } = deps;

  addRoute(app, context, {
    method: "POST",
    url: "/auth/signup",
    operationId: "signUp",
    summary: "Create an account and its org (the first account on an instance owns the first org)",
    tag: "accounts",
    access: "public",
    body: signupBody,
    status: 201,
    response: meView,
    problems: ["conflict", "rate-limited"],
    async handler({ body, request, reply }) {
      await slowDownGuessing(deps, request, body.email);
      const passwordHash = await hashPassword(body.password);
      const user = await db
        .transaction()
        .execute(async (trx) => {
          const created = await trx
            .insertInto("users")
            .values({ email: body.email, display_name: body.name ?? null, password_hash: passwordHash })
            .returning(["id", "email"])
            .executeTakeFirstOrThrow();
          const org = await createOrgWithOwner(trx, {
            userId: created.id,
            name: body.name ? `${body.name}'s org` : (body.email.split("@")[0] ?? "org"),
            slugHint: body.email.split("@")[0] ?? "org",
          });
          await recordAudit(trx, null, {
            orgId: org.id,
            action: "user.signup",
            targetType: "user",
            targetId: created.id,
            detail: { email: created.email },
          });
          return created;
        })
        .catch((error: unknown) => {
          if ((error as { code?: string }).code === "23505")
            throw problem("conflict", "an account with this email exists; sign in instead");
          throw error;
        });
      return me(deps, await startSession(deps, reply, user));
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/auth/login",
    operationId: "signIn",
    summary: "Sign in; sets the session cookie",
    tag: "accounts",
    access: "public",
    body: loginBody,
    status: 200,
    response: meView,
    problems: ["invalid-credentials", "rate-limited"],
    async handler({ body, request, reply }) {
      await slowDownGuessing(deps, request, body.email);
      const user = await checkPassword(db, body.email, body.password);
      if (!user) throw problem("invalid-credentials", "email or password is wrong");
      return me(deps, await startSession(deps, reply, user));
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/auth/logout",
    operationId: "signOut",
    summary: "End this browser session",
    tag: "accounts",
    access: "signed-in",
    status: 204,
    response: null,
    async handler({ request, reply }) {
      const actor = requireActor(request);
      if (actor.via === "session") {
        await db.deleteFrom("sessions").where("id", "=", actor.sessionId).execute();
        // The playground tokens this session minted stop at once on every runtime node.
        await announceGrantRevoked(deps.bus, sessionGrantId(actor.sessionId));
      }
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return undefined;
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/me",
    operationId: "getMe",
    summary: "Who you are, your orgs and roles (and the CSRF token of a browser session)",
    tag: "accounts",
    access: "signed-in",
    status: 200,
    response: meView,
    async handler({ request }) {
      return me(deps, requireActor(request));
    },
  });
}
