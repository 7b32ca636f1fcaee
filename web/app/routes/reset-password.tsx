import { password } from "@isola/schema";
import { Form, Link, redirect } from "react-router";
import { z } from "zod";
import { SubmitButton } from "../components/button.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { PublicTopBar } from "../components/shell.tsx";
import { webContext } from "../lib/context.ts";
import { setFlash } from "../lib/flash.server.ts";
import { type FormErrors, parseForm, problemFormErrors } from "../lib/forms.server.ts";
import orgStyles from "../styles/org.css?url";
import type { Route } from "./+types/reset-password";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: orgStyles }];

export const meta: Route.MetaFunction = () => [{ title: "Choose a new password · Isola" }];

/** The link's token is in this page's URL: no other site may learn it from a Referer. */
export const headers: Route.HeadersFunction = () => ({ "Referrer-Policy": "no-referrer" });

const RESET_LINK_INVALID = "urn:isola:problem:reset-link-invalid";

/** The API's body plus a second typing of the password, checked here (the API takes one). */
const resetForm = z
  .object({ token: z.string().min(1, "this link has no token").max(200), password, confirm: z.string() })
  .refine((form) => form.password === form.confirm, { message: "the two passwords differ", path: ["confirm"] });

export function loader({ request }: Route.LoaderArgs) {
  return { token: new URL(request.url).searchParams.get("token") ?? "" };
}

export async function action({ request, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  // Handed back: the page was posted to the bare path, so its own URL no longer has the token.
  const sentToken = typeof form.get("token") === "string" ? String(form.get("token")) : "";
  const parsed = parseForm(form, resetForm);
  if (!parsed.ok) return { ...parsed, linkProblem: null, token: sentToken };
  const { token, password: value } = parsed.data;
  const answer = await web.control.post("/auth/password-reset/confirm", { token, password: value });
  if (!answer.ok) {
    // A bad link is not the form's fault: say what is wrong with it and how to get another.
    if (answer.problem.type === RESET_LINK_INVALID) {
      const none: FormErrors = { fieldErrors: {}, values: {} };
      return { ok: false as const, ...none, linkProblem: answer.problem, token };
    }
    return { ok: false as const, ...problemFormErrors(answer.problem, { password: "" }), linkProblem: null, token };
  }
  await setFlash(web, { kind: "success", message: "Your password is changed. Sign in with the new one." });
  return redirect("/signin");
}

export default function ResetPassword({ loaderData, actionData }: Route.ComponentProps) {
  const token = actionData?.token || loaderData.token;
  const errors = actionData && "fieldErrors" in actionData ? actionData : undefined;
  const linkProblem = actionData?.linkProblem;
  return (
    <>
      <PublicTopBar />
      <main id="main" className="narrow">
        <h1>Choose a new password</h1>
        {!token ? (
          <div className="problem" role="alert" data-testid="reset-no-token">
            <p className="problem-title">This link is incomplete</p>
            <p>
              It has no token. Open the whole link from the message, or{" "}
              <Link to="/forgot-password">ask for a new one</Link>.
            </p>
          </div>
        ) : linkProblem ? (
          <div data-testid="reset-link-invalid">
            <ProblemMessage problem={linkProblem} />
            <p style={{ marginTop: "1rem" }}>
              <Link to="/forgot-password">Ask for a new link</Link>
            </p>
          </div>
        ) : (
          // Posted to the bare path: the token travels in the body, not in another URL.
          <Form method="post" action="/reset-password" className="form" noValidate>
            {errors?.formError && <ProblemMessage problem={errors.formError} />}
            {errors?.fieldErrors.token && (
              <ProblemMessage problem={{ title: "This link is incomplete", detail: errors.fieldErrors.token }} />
            )}
            <input type="hidden" name="token" value={token} />
            <TextField
              name="password"
              label="New password"
              type="password"
              autoComplete="new-password"
              required
              hint="At least 10 characters."
              error={errors?.fieldErrors.password}
            />
            <TextField
              name="confirm"
              label="New password, again"
              type="password"
              autoComplete="new-password"
              required
              error={errors?.fieldErrors.confirm}
            />
            <SubmitButton pendingLabel="Saving…" block>
              Set new password
            </SubmitButton>
            <p className="muted small">Every browser signed in to this account is signed out.</p>
          </Form>
        )}
      </main>
    </>
  );
}
