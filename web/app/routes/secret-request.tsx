import type { ProblemDetails, SecretRequestView } from "@isola/schema";
import { Form } from "react-router";
import { SubmitButton } from "../components/button.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { webContext } from "../lib/context.ts";
import secretRequestStyles from "../styles/secret-request.css?url";
import type { Route } from "./+types/secret-request";

// The page an MCP client opens when Isola's MCP server asks its user for secret values (URL-mode
// elicitation): the values go from this browser to Isola, never through the client or the model.
// Only the user who was asked can read or answer the request (control answers 404 to anyone else).

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: secretRequestStyles }];
export const meta: Route.MetaFunction = () => [{ title: "Enter secrets · Isola" }];

/** The request's id is in the URL: no other site learns it, and no cache keeps the page. */
export const headers: Route.HeadersFunction = () => ({ "Referrer-Policy": "no-referrer", "Cache-Control": "no-store" });

const path = (id: string) => `/secret-requests/${encodeURIComponent(id)}`;

export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context.get(webContext).control.get<SecretRequestView>(path(params.id));
  return answer.ok ? { request: answer.data, problem: null } : { request: null, problem: answer.problem };
}

type ActionResult =
  | { saved: string[] }
  | { fieldErrors: Record<string, string>; formError?: Pick<ProblemDetails, "title" | "detail"> };

export async function action({ params, request, context }: Route.ActionArgs): Promise<ActionResult> {
  const control = context.get(webContext).control;
  const asked = await control.get<SecretRequestView>(path(params.id));
  if (!asked.ok) return { fieldErrors: {}, formError: asked.problem };
  const form = await request.formData();
  // Empty optional fields are left out; the values are never sent back to the page.
  const values: Record<string, string> = {};
  const fieldErrors: Record<string, string> = {};
  for (const field of asked.data.fields) {
    const raw = form.get(field.name);
    const value = typeof raw === "string" ? raw : "";
    if (value !== "") values[field.name] = value;
    else if (field.required) fieldErrors[field.name] = `enter ${field.name}`;
  }
  if (Object.keys(fieldErrors).length > 0) return { fieldErrors };
  const answer = await control.post<{ received: string[] }>(path(params.id), { values });
  if (answer.ok) return { saved: answer.data.received };
  const listed = Array.isArray(answer.problem.errors)
    ? (answer.problem.errors as { path?: unknown; message?: unknown }[])
    : [];
  for (const error of listed) {
    const name = typeof error.path === "string" ? error.path.replace(/^values\./, "") : "";
    if (asked.data.fields.some((field) => field.name === name) && typeof error.message === "string") {
      fieldErrors[name] ??= error.message;
    }
  }
  return Object.keys(fieldErrors).length > 0 ? { fieldErrors } : { fieldErrors, formError: answer.problem };
}

const expiry = (iso: string) =>
  new Date(iso).toLocaleTimeString("en", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
    timeZoneName: "short",
  });

export default function SecretRequest({ loaderData, actionData }: Route.ComponentProps) {
  if (actionData && "saved" in actionData) {
    return (
      <main id="main" className="narrow">
        <h1>Secrets saved</h1>
        <div className="secret-request-done" role="status" data-testid="secret-request-saved">
          <p>Saved. Go back to your AI client.</p>
          <p className="muted">
            Isola stored {actionData.saved.join(", ")} encrypted; nobody can read it back, not even your AI client.
          </p>
        </div>
      </main>
    );
  }
  const { request, problem } = loaderData;
  if (!request) {
    return (
      <main id="main" className="narrow">
        <h1>This request is not open</h1>
        <div data-testid="secret-request-missing">
          {problem && problem.status !== 404 ? (
            <ProblemMessage problem={problem} />
          ) : (
            <div className="problem" role="alert">
              <p className="problem-title">Nothing to enter here</p>
              <p>
                This link has expired, was already used, or was made for another account. Ask your AI client to try
                again: it will give you a new link.
              </p>
            </div>
          )}
        </div>
      </main>
    );
  }
  const errors = actionData && "fieldErrors" in actionData ? actionData : undefined;
  return (
    <main id="main" className="narrow">
      <h1>Enter secrets</h1>
      <p className="secret-request-message">{request.message}</p>
      <Form method="post" className="form" noValidate autoComplete="off">
        {errors?.formError && <ProblemMessage problem={errors.formError} />}
        {request.fields.map((field) => (
          <TextField
            key={field.name}
            name={field.name}
            label={`${field.name}${field.required ? " (required)" : " (optional)"}`}
            type="password"
            autoComplete="off"
            spellCheck={false}
            required={field.required}
            hint={
              [field.description, field.howToGet ? `How to get it: ${field.howToGet}` : ""].filter(Boolean).join(" ") ||
              undefined
            }
            error={errors?.fieldErrors[field.name]}
          />
        ))}
        <p className="muted">
          Stored encrypted and never shown again. This page expires at {expiry(request.expiresAt)}.
        </p>
        <SubmitButton pendingLabel="Saving…">Save</SubmitButton>
      </Form>
    </main>
  );
}
