import { passwordResetBody } from "@isola/schema";
import { Form, Link } from "react-router";
import { SubmitButton } from "../components/button.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { PublicTopBar } from "../components/shell.tsx";
import { webContext } from "../lib/context.ts";
import { parseForm, problemFormErrors } from "../lib/forms.server.ts";
import orgStyles from "../styles/org.css?url";
import type { Route } from "./+types/forgot-password";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: orgStyles }];

export const meta: Route.MetaFunction = () => [{ title: "Reset your password · Isola" }];

interface Accepted {
  delivery: "log";
  expiresInMinutes: number;
}

export async function action({ request, context }: Route.ActionArgs) {
  const parsed = parseForm(await request.formData(), passwordResetBody);
  if (!parsed.ok) return { ...parsed, sent: null };
  const answer = await context.get(webContext).control.post<Accepted>("/auth/password-reset", parsed.data);
  if (!answer.ok)
    return { ok: false as const, ...problemFormErrors(answer.problem, { email: parsed.data.email }), sent: null };
  return { ok: true as const, sent: { email: parsed.data.email, ...answer.data } };
}

/** What happened to the link, in words: the answer is the same whether the account exists or not. */
function Sent({ email, delivery, expiresInMinutes }: { email: string } & Accepted) {
  return (
    <div className="notice" role="status" data-testid="reset-sent">
      <p>
        If an account exists for <strong>{email}</strong>, a reset link was made for it. It works once, for{" "}
        {expiresInMinutes} minutes.
      </p>
      {delivery === "log" && (
        <p data-testid="delivery-log">
          No mail transport is configured: the reset link was written to the server log. Ask the operator of this Isola
          for it.
        </p>
      )}
    </div>
  );
}

export default function ForgotPassword({ actionData }: Route.ComponentProps) {
  const errors = actionData && !actionData.ok ? actionData : undefined;
  const sent = actionData?.sent;
  return (
    <>
      <PublicTopBar />
      <main id="main" className="narrow">
        <h1>Reset your password</h1>
        {sent ? (
          <Sent {...sent} />
        ) : (
          <>
            <p className="muted">Enter your account's email: we make a single-use link to set a new password.</p>
            <Form method="post" className="form" noValidate>
              {errors?.formError && <ProblemMessage problem={errors.formError} />}
              <TextField
                name="email"
                label="Email"
                type="email"
                autoComplete="email"
                required
                defaultValue={errors?.values.email}
                error={errors?.fieldErrors.email}
              />
              <SubmitButton pendingLabel="Sending…" block>
                Send reset link
              </SubmitButton>
            </Form>
          </>
        )}
        <p className="muted" style={{ marginTop: "1.25rem" }}>
          Remembered it? <Link to="/signin">Sign in</Link>
        </p>
      </main>
    </>
  );
}
