import type { ApiKeyView, CreatedApiKey, ProblemDetails } from "@isola/schema";
import { Form, useRouteLoaderData } from "react-router";
import { SubmitButton } from "../components/button.tsx";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { ShownOnce } from "../components/shown-once.tsx";
import { TableHead } from "../components/table-head.tsx";
import { webContext } from "../lib/context.ts";
import { idempotencyKey } from "../lib/control-headers.ts";
import { credentialState } from "../lib/credentials.ts";
import { setFlash } from "../lib/flash.server.ts";
import { field, parseForm } from "../lib/forms.server.ts";
import { apiKeyForm } from "../lib/server-tab-forms.server.ts";
import { refused, refusedByProblem, serverApiPath } from "../lib/server-tabs.server.ts";
import styles from "../styles/server-tabs.css?url";
import type { Route } from "./+types/server-keys";
import type { loader as serverLoader } from "./server.tsx";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: styles }];

export const meta: Route.MetaFunction = ({ params }) => [{ title: `API keys · ${params.slug} · Isola` }];

export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context
    .get(webContext)
    .control.get<{ items: ApiKeyView[] }>(serverApiPath(params.slug, "/keys"));
  return {
    keys: answer.ok ? answer.data.items : [],
    problem: answer.ok ? null : (answer.problem as ProblemDetails),
    // One per form shown: a double submit replays (409 with the key's id) instead of making two keys.
    idempotencyKey: crypto.randomUUID(),
  };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const intent = field(form, "intent");
  if (intent === "revoke") {
    const id = field(form, "id");
    const answer = await web.control.delete(serverApiPath(params.slug, `/keys/${encodeURIComponent(id)}`));
    if (!answer.ok) return refusedByProblem(intent, answer.problem);
    await setFlash(web, { kind: "success", message: `Key ${field(form, "name")} revoked: it stops working at once.` });
    return { intent, ok: true as const, created: null };
  }
  const parsed = parseForm(form, apiKeyForm);
  if (!parsed.ok) return refused("create", parsed);
  const answer = await web.control.post<CreatedApiKey>(
    serverApiPath(params.slug, "/keys"),
    parsed.data,
    idempotencyKey(field(form, "idempotencyKey")),
  );
  if (!answer.ok) {
    const values = { name: parsed.data.name, expiresInDays: "", rateLimitPerMinute: "" };
    return refusedByProblem("create", answer.problem, values);
  }
  // The key goes back in this answer only: nothing stores it, a reload does not show it again.
  return { intent: "create", ok: true as const, created: answer.data };
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : null);

function KeyState({ apiKey }: { apiKey: ApiKeyView }) {
  const state = credentialState(apiKey);
  if (state === "Revoked") return <span className="muted">Revoked {day(apiKey.revokedAt)}</span>;
  if (state === "Expired") return <span className="muted">Expired {day(apiKey.expiresAt)}</span>;
  return <>{apiKey.expiresAt ? `Active, expires ${day(apiKey.expiresAt)}` : "Active, no expiry"}</>;
}

export default function ApiKeys({ loaderData, actionData }: Route.ComponentProps) {
  const { keys, problem, idempotencyKey } = loaderData;
  const server = useRouteLoaderData<typeof serverLoader>("routes/server")?.server;
  const created = actionData?.ok && actionData.intent === "create" ? actionData.created : null;
  const createErrors = actionData && !actionData.ok && actionData.intent === "create" ? actionData : undefined;
  const revokeError = actionData && !actionData.ok && actionData.intent === "revoke" ? actionData : undefined;
  return (
    <div className="tab-page">
      {server && server.authMode !== "api_key" && (
        <p className="notice">
          This server's auth mode is <strong>{server.authMode === "oauth" ? "OAuth" : "public"}</strong>: clients do not
          need a key until you switch it to API keys in Settings.
        </p>
      )}
      {created && (
        <ShownOnce testId="created-key" value={created.key} label={`API key ${created.name}`}>
          <strong>Key {created.name} created.</strong> Copy it now: this is the only time it is shown. Isola keeps only
          a hash; if it is lost, revoke it and make another.
        </ShownOnce>
      )}

      <section className="tab-section" aria-labelledby="keys-title">
        <h2 id="keys-title">API keys</h2>
        {problem ? (
          <ProblemMessage problem={problem} />
        ) : keys.length === 0 ? (
          <p className="empty">No keys yet.</p>
        ) : (
          <table className="table" data-testid="keys">
            <TableHead columns={["Name", "Key", "State", "Rate limit", "Last used"]} />
            <tbody>
              {keys.map((apiKey) => (
                <tr key={apiKey.id} className={apiKey.revokedAt ? "row-dim" : undefined}>
                  <td>{apiKey.name}</td>
                  <td>
                    <code>{apiKey.prefix}…</code>
                  </td>
                  <td>
                    <KeyState apiKey={apiKey} />
                  </td>
                  <td className="muted">{apiKey.rateLimitPerMinute ? `${apiKey.rateLimitPerMinute}/min` : "plan's"}</td>
                  <td className="muted">{day(apiKey.lastUsedAt) ?? "never"}</td>
                  <td className="row-actions">
                    {!apiKey.revokedAt && (
                      <ConfirmAction
                        label="Revoke"
                        question={`Revoke ${apiKey.name}? Clients using it are refused from now on.`}
                        confirm={`Yes, revoke ${apiKey.name}`}
                        fields={{ intent: "revoke", id: apiKey.id, name: apiKey.name }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {revokeError?.formError && <ProblemMessage problem={revokeError.formError} />}
      </section>

      {!problem && (
        <section className="tab-section" aria-labelledby="key-new-title">
          <h2 id="key-new-title">Create a key</h2>
          <Form method="post" className="form inline-form" noValidate key={created?.id ?? "new"}>
            {createErrors?.formError && <ProblemMessage problem={createErrors.formError} />}
            <input type="hidden" name="idempotencyKey" value={idempotencyKey} />
            <TextField
              name="name"
              label="Name"
              autoComplete="off"
              hint="Who uses it (laptop, ci): it names the caller in logs and usage."
              defaultValue={createErrors?.values.name}
              error={createErrors?.fieldErrors.name}
            />
            <TextField
              name="expiresInDays"
              label="Expires in (days)"
              inputMode="numeric"
              hint="Empty: never."
              defaultValue={createErrors?.values.expiresInDays}
              error={createErrors?.fieldErrors.expiresInDays}
            />
            <TextField
              name="rateLimitPerMinute"
              label="Calls per minute"
              inputMode="numeric"
              hint="Empty: the plan's limit."
              defaultValue={createErrors?.values.rateLimitPerMinute}
              error={createErrors?.fieldErrors.rateLimitPerMinute}
            />
            <SubmitButton name="intent" value="create" pendingLabel="Creating…">
              Create key
            </SubmitButton>
          </Form>
        </section>
      )}
    </div>
  );
}
