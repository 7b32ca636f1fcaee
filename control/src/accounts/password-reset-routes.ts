import { passwordResetAccepted, passwordResetBody, passwordResetConfirmBody, passwordResetDone } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { recordAudit } from "../audit/record.ts";
import { hashPassword } from "../auth/secrets-at-rest.ts";
import type { ControlDeps } from "../deps.ts";
import { Problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { logMailer } from "../mail/mailer.ts";
import {
  checkResetToken,
  issueResetToken,
  PASSWORD_RESET_LIMIT,
  RESET_LINK_MINUTES,
  redeemResetToken,
} from "./password-reset.ts";
import { takeAttempt } from "./sign-in.ts";

/** The web app's page that takes a reset link's token and a new password. */
const RESET_PAGE = "/reset-password";

/** Forgotten passwords: a single-use link by mail (or in the server log), then a new password. */
export function passwordResetRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  const { db, config } = deps;
  const mailer = deps.mailer ?? logMailer(app.log);
  const now = () => deps.now?.() ?? new Date();

  addRoute(app, context, {
    method: "POST",
    url: "/auth/password-reset",
    operationId: "requestPasswordReset",
    summary: `Send a password reset link (single use, ${RESET_LINK_MINUTES} minutes) to an account's email; the same answer whether or not it has one`,
    tag: "accounts",
    access: "public",
    body: passwordResetBody,
    status: 202,
    response: passwordResetAccepted,
    problems: ["rate-limited"],
    async handler({ body, request }) {
      const attempt = await takeAttempt(deps.bus, PASSWORD_RESET_LIMIT, request.ip, body.email);
      if (!attempt.allowed) {
        throw new Problem(
          "rate-limited",
          "too many password reset requests; wait and try again",
          {},
          { "retry-after": String(attempt.retryAfterSeconds) },
        );
      }
      const issued = await issueResetToken(db, body.email, now());
      if (issued) {
        const link = `${config.publicUrl}${RESET_PAGE}?token=${encodeURIComponent(issued.token)}`;
        await mailer.sendPasswordReset({ to: issued.email, link, expiresAt: issued.expiresAt });
      } else {
        // For the operator wondering why no link came; the caller is not told.
        request.log.info({ email: body.email }, "password reset asked for an email without an account: no link made");
      }
      return { delivery: mailer.delivery, expiresInMinutes: RESET_LINK_MINUTES };
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/auth/password-reset/confirm",
    operationId: "confirmPasswordReset",
    summary:
      "Set a new password with a reset link's token; signs the account out of every browser session (tokens and grants stay)",
    tag: "accounts",
    access: "public",
    body: passwordResetConfirmBody,
    status: 200,
    response: passwordResetDone,
    problems: ["reset-link-invalid"],
    async handler({ body, request }) {
      // A link that does not work is refused before the (deliberately slow) hash.
      await checkResetToken(db, body.token, now());
      const passwordHash = await hashPassword(body.password);
      return db.transaction().execute(async (trx) => {
        const reset = await redeemResetToken(trx, body.token, passwordHash, now());
        // In the audit log of each org of the account: its admins see that its password changed.
        const orgs = await trx.selectFrom("memberships").select("org_id").where("user_id", "=", reset.userId).execute();
        for (const orgId of orgs.length > 0 ? orgs.map((org) => org.org_id) : [null]) {
          await recordAudit(trx, request, {
            orgId,
            action: "user.password_reset",
            targetType: "user",
            targetId: reset.userId,
            detail: { email: reset.email, sessionsEnded: reset.sessionsEnded },
            actor: { type: "user", id: reset.userId, label: `${reset.email} (password reset link)` },
          });
        }
        return { email: reset.email, sessionsEnded: reset.sessionsEnded };
      });
    },
  });
}
