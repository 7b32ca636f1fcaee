import { setSecretBody } from "@isola/schema";
import { Form } from "react-router";
import { SubmitButton } from "../components/button.tsx";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { meContext, webContext } from "../lib/context.ts";
import { field, parseForm, problemFormErrors } from "../lib/forms.server.ts";
import { changed, refused } from "../lib/org-actions.server.ts";
import { formatWhen } from "../lib/org-format.ts";
import { mayUpdateOrg } from "../lib/org-roles.ts";
import { problemResponse } from "../lib/problems.ts";
import type { Route } from "./+types/org-model-key";

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Model key · ${params.org} · Isola` }];

export async function loader({ params, context }: Route.LoaderArgs) {
  const me = context.get(meContext);
  const answer = await context
    .get(webContext)
    .control.get<{ set: boolean; updatedAt: string | null }>(`/orgs/${encodeURIComponent(params.org)}/model-key`);
  if (!answer.ok) throw problemResponse(answer.problem);
  const role = me.orgs.find((org) => org.slug === params.org)?.role ?? "viewer";
  return { key: answer.data, mayChange: mayUpdateOrg(role) };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const path = `/orgs/${encodeURIComponent(params.org)}/model-key`;
  const here = `/orgs/${encodeURIComponent(params.org)}/model-key`;
  if (field(form, "intent") === "delete") {
    const answer = await web.control.delete(path);
    if (!answer.ok) return refused(answer.problem);
    return changed(web, "The org's model key was removed.", here);
  }
  const parsed = parseForm(form, setSecretBody);
  if (!parsed.ok) return parsed;
  const answer = await web.control.put(path, parsed.data);
  if (!answer.ok) return { ok: false as const, ...problemFormErrors(answer.problem, { value: "" }) };
  return changed(web, "The org's model key is set. Builds and ctx.llm use it from now on.", here);
}

export default function ModelKey({ loaderData, actionData }: Route.ComponentProps) {
  const { key, mayChange } = loaderData;
  const errors = actionData && "fieldErrors" in actionData ? actionData : undefined;
  const problem = actionData && "problem" in actionData ? actionData.problem : undefined;
  return (
    <section aria-labelledby="key-heading" className="card stack-sm">
      <h2 id="key-heading" className="card-title">
        Anthropic API key
      </h2>
      <p className="muted">
        The org's own key answers its builds and its servers' <code>ctx.llm</code>; without one, the instance's key (if
        any) does. The key is stored encrypted and never shown again.
      </p>
      <p data-testid="model-key-state">
        {key.set ? (
          <>
            <span className="pill pill-live">Set</span> <span className="muted">since {formatWhen(key.updatedAt)}</span>
          </>
        ) : (
          <span className="pill pill-draft">Not set</span>
        )}
      </p>
      {problem && <ProblemMessage problem={problem} />}
      {errors?.formError && <ProblemMessage problem={errors.formError} />}
      {mayChange ? (
        <>
          <Form method="post" className="form form-row" noValidate>
            <input type="hidden" name="intent" value="set" />
            <TextField
              name="value"
              label={key.set ? "Replace the key" : "Key"}
              type="password"
              autoComplete="off"
              placeholder="sk-ant-…"
              error={errors?.fieldErrors.value}
            />
            <SubmitButton pendingLabel="Saving…">{key.set ? "Replace key" : "Set key"}</SubmitButton>
          </Form>
          {key.set && (
            <ConfirmAction
              label="Remove key"
              question="Remove the org's key? Builds and ctx.llm fall back to the instance's key, if there is one."
              confirm="Yes, remove"
              fields={{ intent: "delete" }}
            />
          )}
        </>
      ) : (
        <p className="muted">Only owners set or remove the org's key.</p>
      )}
    </section>
  );
}
