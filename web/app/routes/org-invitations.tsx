import { createInvitationBody, type InvitationView, type OrgRole } from "@isola/schema";
import { Form } from "react-router";
import { SubmitButton } from "../components/button.tsx";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { SelectField, TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { ShownOnce } from "../components/shown-once.tsx";
import { TableHead } from "../components/table-head.tsx";
import { meContext, webContext } from "../lib/context.ts";
import { field, parseForm, problemFormErrors } from "../lib/forms.server.ts";
import { changed, refused } from "../lib/org-actions.server.ts";
import { formatWhen } from "../lib/org-format.ts";
import { assignableRoles, ROLE_LABELS } from "../lib/org-roles.ts";
import { problemResponse } from "../lib/problems.ts";
import type { Route } from "./+types/org-invitations";

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Invitations · ${params.org} · Isola` }];

interface CreatedInvitation {
  id: string;
  email: string;
  role: OrgRole;
  expiresAt: string;
  link: string;
}

export async function loader({ params, context }: Route.LoaderArgs) {
  const me = context.get(meContext);
  const answer = await context
    .get(webContext)
    .control.get<{ items: InvitationView[] }>(`/orgs/${encodeURIComponent(params.org)}/invitations`);
  if (!answer.ok) throw problemResponse(answer.problem);
  const role = me.orgs.find((org) => org.slug === params.org)?.role ?? "viewer";
  return { invitations: answer.data.items, choices: assignableRoles(role) };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const base = `/orgs/${encodeURIComponent(params.org)}/invitations`;
  if (field(form, "intent") === "revoke") {
    const answer = await web.control.delete(`${base}/${encodeURIComponent(field(form, "id"))}`);
    if (!answer.ok) return refused(answer.problem);
    return changed(web, `The invitation for ${field(form, "email")} was revoked; its link no longer works.`, base);
  }
  const parsed = parseForm(form, createInvitationBody);
  if (!parsed.ok) return { ...parsed, created: null };
  const answer = await web.control.post<CreatedInvitation>(base, parsed.data);
  if (!answer.ok) {
    return {
      ok: false as const,
      ...problemFormErrors(answer.problem, { email: parsed.data.email, role: parsed.data.role }),
      created: null,
    };
  }
  // Not a redirect: the link is in this answer only, and never shown again.
  return { ok: true as const, created: answer.data };
}

export default function Invitations({ loaderData, actionData }: Route.ComponentProps) {
  const { invitations, choices } = loaderData;
  const errors = actionData && "fieldErrors" in actionData ? actionData : undefined;
  const problem = actionData && "problem" in actionData ? actionData.problem : undefined;
  const created = actionData && "created" in actionData ? actionData.created : null;
  return (
    <section aria-labelledby="invite-heading" className="stack">
      <div className="card">
        <h2 id="invite-heading" className="card-title">
          Invite someone
        </h2>
        <p className="muted">They get a single-use link, valid 7 days, for this email address only.</p>
        {problem && <ProblemMessage problem={problem} />}
        {errors?.formError && <ProblemMessage problem={errors.formError} />}
        <Form method="post" className="form form-row" noValidate>
          <input type="hidden" name="intent" value="create" />
          <TextField
            name="email"
            label="Email"
            type="email"
            autoComplete="off"
            defaultValue={errors?.values.email}
            error={errors?.fieldErrors.email}
          />
          <SelectField
            name="role"
            label="Role"
            defaultValue={errors?.values.role ?? "member"}
            error={errors?.fieldErrors.role}
          >
            {choices.map((role) => (
              <option key={role} value={role}>
                {ROLE_LABELS[role]}
              </option>
            ))}
          </SelectField>
          <SubmitButton pendingLabel="Inviting…">Create invitation</SubmitButton>
        </Form>
        {created && (
          <ShownOnce testId="invitation-link" value={created.link} label="Invitation link">
            <strong>Invitation for {created.email}</strong> ({ROLE_LABELS[created.role].toLowerCase()}). Copy the link
            now and send it to them: it is shown only once.
          </ShownOnce>
        )}
      </div>

      <h2>Pending invitations</h2>
      {invitations.length === 0 ? (
        <p className="muted empty">No pending invitations.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="invitations">
            <TableHead columns={["Email", "Role", "Invited by", "Expires"]} />
            <tbody>
              {invitations.map((invitation) => (
                <tr key={invitation.id}>
                  <td>{invitation.email}</td>
                  <td>{ROLE_LABELS[invitation.role]}</td>
                  <td className="muted">{invitation.invitedBy ?? "—"}</td>
                  <td className="muted">{formatWhen(invitation.expiresAt)}</td>
                  <td className="row-actions">
                    <ConfirmAction
                      label="Revoke"
                      question={`Revoke the invitation for ${invitation.email}? Its link stops working.`}
                      confirm="Yes, revoke"
                      fields={{ intent: "revoke", id: invitation.id, email: invitation.email }}
                    />
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
