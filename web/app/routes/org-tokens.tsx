import { createTokenBody } from "@isola/schema";
import { Form } from "react-router";
import { z } from "zod";
import { SubmitButton } from "../components/button.tsx";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { ShownOnce } from "../components/shown-once.tsx";
import { TableHead } from "../components/table-head.tsx";
import { webContext } from "../lib/context.ts";
import { credentialState } from "../lib/credentials.ts";
import { expiresInDays, field, parseForm, problemFormErrors } from "../lib/forms.server.ts";
import { changed, refused } from "../lib/org-actions.server.ts";
import { formatWhen } from "../lib/org-format.ts";
import { problemResponse } from "../lib/problems.ts";
import type { Route } from "./+types/org-tokens";

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Access tokens · ${params.org} · Isola` }];

interface TokenView {
  id: string;
  name: string;
  org: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The API's body, with the number of days as a form sends it (text). */
const tokenForm = z.object({
  name: createTokenBody.shape.name,
  expiresInDays,
});

/** Your tokens that act in this org (a token acts in one org only). */
export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context.get(webContext).control.get<{ items: TokenView[] }>("/me/tokens");
  if (!answer.ok) throw problemResponse(answer.problem);
  return { tokens: answer.data.items.filter((token) => token.org === params.org) };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  if (field(form, "intent") === "revoke") {
    const answer = await web.control.delete(`/me/tokens/${encodeURIComponent(field(form, "id"))}`);
    if (!answer.ok) return refused(answer.problem);
    return changed(
      web,
      `The token ${field(form, "name")} was revoked: it stops working at once.`,
      `/orgs/${encodeURIComponent(params.org)}/tokens`,
    );
  }
  const parsed = parseForm(form, tokenForm);
  if (!parsed.ok) return { ...parsed, created: null };
  const answer = await web.control.post<TokenView & { token: string }>("/me/tokens", {
    ...parsed.data,
    org: params.org,
  });
  if (!answer.ok) {
    const values = { name: parsed.data.name, expiresInDays: String(parsed.data.expiresInDays ?? "") };
    return { ok: false as const, ...problemFormErrors(answer.problem, values), created: null };
  }
  // Not a redirect: the token is in this answer only.
  return { ok: true as const, created: answer.data };
}

export default function Tokens({ loaderData, actionData, params }: Route.ComponentProps) {
  const { tokens } = loaderData;
  const errors = actionData && "fieldErrors" in actionData ? actionData : undefined;
  const problem = actionData && "problem" in actionData ? actionData.problem : undefined;
  const created = actionData && "created" in actionData ? actionData.created : null;
  return (
    <section aria-labelledby="token-heading" className="stack">
      <div className="card">
        <h2 id="token-heading" className="card-title">
          New personal access token
        </h2>
        <p className="muted">
          For scripts and the <code>isola</code> CLI: it acts as you, in <code>{params.org}</code> only.
        </p>
        {problem && <ProblemMessage problem={problem} />}
        {errors?.formError && <ProblemMessage problem={errors.formError} />}
        <Form method="post" className="form form-row" noValidate>
          <input type="hidden" name="intent" value="create" />
          <TextField
            name="name"
            label="Name"
            autoComplete="off"
            placeholder="ci-deploys"
            defaultValue={errors?.values.name}
            error={errors?.fieldErrors.name}
          />
          <TextField
            name="expiresInDays"
            label="Expires in (days)"
            inputMode="numeric"
            hint="Empty: never."
            defaultValue={errors?.values.expiresInDays}
            error={errors?.fieldErrors.expiresInDays}
          />
          <SubmitButton pendingLabel="Creating…">Create token</SubmitButton>
        </Form>
        {created && (
          <ShownOnce testId="created-token" value={created.token} label="Personal access token">
            <strong>Token {created.name} created.</strong> Copy it now: it is shown only once, and Isola keeps only its
            hash.
          </ShownOnce>
        )}
      </div>

      <h2>Your tokens for this org</h2>
      {tokens.length === 0 ? (
        <p className="muted empty">No tokens yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="tokens">
            <TableHead columns={["Name", "Token", "Status", "Created", "Last used", "Expires"]} />
            <tbody>
              {tokens.map((token) => (
                <tr key={token.id} data-name={token.name}>
                  <td>{token.name}</td>
                  <td>
                    <code>{token.prefix}…</code>
                  </td>
                  <td>
                    <span
                      className={`pill pill-token-${credentialState(token).toLowerCase()}`}
                      data-testid="token-status"
                    >
                      {credentialState(token)}
                    </span>
                  </td>
                  <td className="muted">{formatWhen(token.createdAt)}</td>
                  <td className="muted">{formatWhen(token.lastUsedAt)}</td>
                  <td className="muted">{token.expiresAt ? formatWhen(token.expiresAt) : "Never"}</td>
                  <td className="row-actions">
                    {!token.revokedAt && (
                      <ConfirmAction
                        label="Revoke"
                        question={`Revoke ${token.name}? Anything using it stops working at once.`}
                        confirm="Yes, revoke"
                        fields={{ intent: "revoke", id: token.id, name: token.name }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
