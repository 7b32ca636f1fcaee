import type { ProblemDetails, SecretListItem } from "@isola/schema";
import { useEffect, useRef } from "react";
import { Form } from "react-router";
import { SubmitButton } from "../components/button.tsx";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { TableHead } from "../components/table-head.tsx";
import { webContext } from "../lib/context.ts";
import { setFlash } from "../lib/flash.server.ts";
import { field, parseForm } from "../lib/forms.server.ts";
import { secretForm } from "../lib/server-tab-forms.server.ts";
import { refused, refusedByProblem, serverApiPath } from "../lib/server-tabs.server.ts";
import styles from "../styles/server-tabs.css?url";
import type { Route } from "./+types/server-secrets";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: styles }];

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Secrets · ${params.slug} · Isola` }];

/** Names only: control never answers a secret's value. A role that may not read them sees why. */
export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context
    .get(webContext)
    .control.get<{ items: SecretListItem[] }>(serverApiPath(params.slug, "/secrets"));
  return answer.ok
    ? { secrets: answer.data.items, problem: null }
    : { secrets: [] as SecretListItem[], problem: answer.problem as ProblemDetails };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const intent = field(form, "intent");
  if (intent === "delete") {
    const name = field(form, "name");
    const answer = await web.control.delete(serverApiPath(params.slug, `/secrets/${encodeURIComponent(name)}`));
    if (!answer.ok) return refusedByProblem(intent, answer.problem);
    await setFlash(web, { kind: "success", message: `Secret ${name} deleted.` });
    return { intent, ok: true as const };
  }
  const parsed = parseForm(form, secretForm);
  if (!parsed.ok) return refused("set", parsed);
  const { name, value } = parsed.data;
  const answer = await web.control.put(serverApiPath(params.slug, `/secrets/${encodeURIComponent(name)}`), { value });
  if (!answer.ok) return refusedByProblem("set", answer.problem, { name });
  await setFlash(web, { kind: "success", message: `Secret ${name} saved.` });
  return { intent: "set", ok: true as const };
}

const formatDate = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16).replace("T", " ") : "—");

export default function Secrets({ loaderData, actionData }: Route.ComponentProps) {
  const { secrets, problem } = loaderData;
  const setErrors = actionData && !actionData.ok && actionData.intent === "set" ? actionData : undefined;
  const deleteError = actionData && !actionData.ok && actionData.intent === "delete" ? actionData : undefined;
  const setForm = useRef<HTMLFormElement>(null);
  const valueInput = useRef<HTMLInputElement>(null);
  // Whatever the answer, the typed value does not stay on the page; a saved one empties the form.
  useEffect(() => {
    if (actionData?.intent !== "set") return;
    if (actionData.ok) setForm.current?.reset();
    else if (valueInput.current) valueInput.current.value = "";
  }, [actionData]);
  return (
    <div className="tab-page">
      <section className="tab-section" aria-labelledby="secrets-title">
        <h2 id="secrets-title">Secrets</h2>
        <p className="muted">
          Values are stored encrypted and handed only to the server's code (<code>ctx.env</code>). They are never shown
          again, here or anywhere.
        </p>
        {problem ? (
          <ProblemMessage problem={problem} />
        ) : secrets.length === 0 ? (
          <p className="empty">No secrets yet, and the live version declares none.</p>
        ) : (
          <table className="table" data-testid="secrets">
            <TableHead columns={["Name", "State", "Updated"]} />
            <tbody>
              {secrets.map((secret) => (
                <tr key={secret.name}>
                  <td>
                    <code>{secret.name}</code>
                  </td>
                  <td>
                    {secret.set ? "Set" : <span className="warn-text">Not set</span>}
                    {secret.declared ? <span className="muted"> · used by the live version</span> : null}
                  </td>
                  <td className="muted">{formatDate(secret.updatedAt)}</td>
                  <td className="row-actions">
                    {secret.set && (
                      <ConfirmAction
                        label="Delete"
                        question={
                          <>
                            Delete <code>{secret.name}</code>?
                            {secret.declared ? " The live version reads it: its tools may fail without it." : ""}
                          </>
                        }
                        confirm={`Yes, delete ${secret.name}`}
                        fields={{ intent: "delete", name: secret.name }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {deleteError?.formError && <ProblemMessage problem={deleteError.formError} />}
      </section>

      {!problem && (
        <section className="tab-section" aria-labelledby="secret-set-title">
          <h2 id="secret-set-title">Set a secret</h2>
          <Form method="post" className="form inline-form" noValidate ref={setForm}>
            {setErrors?.formError && <ProblemMessage problem={setErrors.formError} />}
            <TextField
              name="name"
              label="Name"
              autoComplete="off"
              spellCheck={false}
              hint="UPPER_SNAKE_CASE, like WEATHER_API_KEY. Setting an existing name replaces its value."
              defaultValue={setErrors?.values.name}
              error={setErrors?.fieldErrors.name}
            />
            <TextField
              name="value"
              label="Value"
              type="password"
              autoComplete="new-password"
              ref={valueInput}
              error={setErrors?.fieldErrors.value}
            />
            <SubmitButton name="intent" value="set" pendingLabel="Saving…">
              Save secret
            </SubmitButton>
          </Form>
        </section>
      )}
    </div>
  );
}
