import { Form, Link, useSearchParams } from "react-router";
import type { FormErrors } from "../lib/forms.server.ts";
import { SubmitButton } from "./button.tsx";
import { TextField } from "./field.tsx";
import { ProblemMessage } from "./problem-message.tsx";

interface AccountFormProps {
  kind: "signin" | "signup";
  errors: FormErrors | undefined;
}

const COPY = {
  signin: {
    title: "Sign in to Isola",
    submit: "Sign in",
    pending: "Signing in…",
    other: { text: "No account yet?", link: "/signup", label: "Sign up" },
  },
  signup: {
    title: "Create your Isola account",
    submit: "Create account",
    pending: "Creating your account…",
    other: { text: "Have an account?", link: "/signin", label: "Sign in" },
  },
} as const;

/** The sign-in and sign-up form: errors from the schema or from control, next to their fields. */
export function AccountForm({ kind, errors }: AccountFormProps) {
  const copy = COPY[kind];
  const [params] = useSearchParams();
  const next = params.get("next");
  const otherLink = next ? `${copy.other.link}?next=${encodeURIComponent(next)}` : copy.other.link;
  return (
    <main id="main" className="narrow">
      <h1>{copy.title}</h1>
      {/* noValidate: the messages come from the API's schema, the same with or without JavaScript. */}
      <Form method="post" className="form" noValidate>
        {errors?.formError && <ProblemMessage problem={errors.formError} />}
        {next && <input type="hidden" name="next" value={next} />}
        <TextField
          name="email"
          label="Email"
          type="email"
          autoComplete="email"
          required
          defaultValue={errors?.values.email}
          error={errors?.fieldErrors.email}
        />
        <TextField
          name="password"
          label="Password"
          type="password"
          autoComplete={kind === "signup" ? "new-password" : "current-password"}
          required
          hint={kind === "signup" ? "At least 10 characters." : undefined}
          error={errors?.fieldErrors.password}
        />
        {kind === "signin" && <Link to="/forgot-password">Forgot your password?</Link>}
        <SubmitButton pendingLabel={copy.pending} block>
          {copy.submit}
        </SubmitButton>
      </Form>
      <p className="muted" style={{ marginTop: "1.25rem" }}>
        {copy.other.text} <Link to={otherLink}>{copy.other.label}</Link>
      </p>
    </main>
  );
}
