import type { MailDelivery } from "@isola/schema";

/** What the control plane sends to people. One method per message: its words are the mailer's. */
export interface Mailer {
  /** How messages reach people; API answers say it, so that a page can tell the user where to look. */
  readonly delivery: MailDelivery;
  /** A password reset link for `to` (single use, until `expiresAt`). */
  sendPasswordReset(message: { to: string; link: string; expiresAt: Date }): Promise<void>;
}

/** The part of a pino logger the log mailer writes to. */
export interface MailLog {
  info(fields: Record<string, unknown>, message: string): void;
}

/**
 * The mailer of an instance without a mail transport: each message is one info line of the
 * server log, for an operator to pass on. The one log line that holds a credential, on purpose:
 * it is the delivery (the link is single use and short-lived).
 */
export function logMailer(log: MailLog): Mailer {
  return {
    delivery: "log",
    async sendPasswordReset({ to, link, expiresAt }) {
      log.info(
        { mail: "password-reset", to, expiresAt: expiresAt.toISOString() },
        `password reset link for ${to} (no mail transport configured): ${link}`,
      );
    },
  };
}
