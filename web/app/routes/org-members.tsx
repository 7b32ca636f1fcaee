import type { MemberView, OrgRole } from "@isola/schema";
import { ORG_ROLES } from "@isola/schema";
import { Form } from "react-router";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { TableHead } from "../components/table-head.tsx";
import { meContext, webContext } from "../lib/context.ts";
import { ifMatch } from "../lib/control-headers.ts";
import { field } from "../lib/forms.server.ts";
import { changed, refused } from "../lib/org-actions.server.ts";
import { formatWhen } from "../lib/org-format.ts";
import { assignableRoles, mayChangeMember, mayManageMembers, ROLE_LABELS } from "../lib/org-roles.ts";
import { problemResponse } from "../lib/problems.ts";
import type { Route } from "./+types/org-members";

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Members · ${params.org} · Isola` }];

export async function loader({ params, context }: Route.LoaderArgs) {
  const me = context.get(meContext);
  const answer = await context
    .get(webContext)
    .control.get<{ items: MemberView[] }>(`/orgs/${encodeURIComponent(params.org)}/members`);
  if (!answer.ok) throw problemResponse(answer.problem);
  const role = me.orgs.find((org) => org.slug === params.org)?.role ?? "viewer";
  return { members: answer.data.items, myRole: role, myId: me.user.id };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const userId = field(form, "userId");
  const email = field(form, "email");
  const path = `/orgs/${encodeURIComponent(params.org)}/members/${encodeURIComponent(userId)}`;
  const here = `/orgs/${encodeURIComponent(params.org)}`;
  if (field(form, "intent") === "role") {
    const role = field(form, "role");
    if (!(ORG_ROLES as readonly string[]).includes(role)) {
      return refused({
        type: "about:blank",
        title: "Choose a role",
        status: 400,
        detail: `${role || "nothing"} is not a role`,
      });
    }
    // The revision the page showed: someone else's change since then is a 412, not silently overwritten.
    const answer = await web.control.patch(path, { role }, ifMatch(Number(field(form, "revision"))));
    if (!answer.ok) return refused(answer.problem);
    return changed(web, `${email} is now ${ROLE_LABELS[role as OrgRole].toLowerCase()}.`, here);
  }
  if (field(form, "intent") === "remove") {
    const answer = await web.control.delete(path);
    if (!answer.ok) return refused(answer.problem);
    if (field(form, "self") === "yes") return changed(web, `You left ${params.org}.`, "/dashboard");
    return changed(web, `${email} was removed from ${params.org}.`, here);
  }
  return refused({
    type: "about:blank",
    title: "Unknown action",
    status: 400,
    detail: "the form sent no known intent",
  });
}

function RoleForm({ member, choices }: { member: MemberView; choices: OrgRole[] }) {
  return (
    <Form method="post" className="inline-form">
      <input type="hidden" name="intent" value="role" />
      <input type="hidden" name="userId" value={member.userId} />
      <input type="hidden" name="email" value={member.email} />
      <input type="hidden" name="revision" value={member.revision} />
      <label className="visually-hidden" htmlFor={`role-${member.userId}`}>
        Role of {member.email}
      </label>
      <select id={`role-${member.userId}`} name="role" className="field-input select-sm" defaultValue={member.role}>
        {choices.map((role) => (
          <option key={role} value={role}>
            {ROLE_LABELS[role]}
          </option>
        ))}
      </select>
      <button type="submit" className="btn btn-sm">
        Change role
      </button>
    </Form>
  );
}

export default function Members({ loaderData, actionData }: Route.ComponentProps) {
  const { members, myRole, myId } = loaderData;
  const choices = assignableRoles(myRole);
  return (
    <section aria-labelledby="members-heading">
      <div className="section-header">
        <h2 id="members-heading">Members</h2>
        <p className="muted">
          {mayManageMembers(myRole)
            ? myRole === "owner"
              ? "As an owner you can change anyone's role and remove members."
              : "As an admin you can change roles up to admin and remove members who are not owners."
            : "Only admins and owners change roles or remove members. You can leave the org."}
        </p>
      </div>
      {actionData?.problem && <ProblemMessage problem={actionData.problem} />}
      <div className="table-wrap">
        <table className="table" data-testid="members">
          <TableHead columns={["Member", "Role", "Joined"]} />
          <tbody>
            {members.map((member) => {
              const self = member.userId === myId;
              const mayChange = !self && mayChangeMember(myRole, member.role);
              return (
                <tr key={member.userId} data-email={member.email}>
                  <td>
                    {member.email}
                    {member.name && <span className="muted"> · {member.name}</span>}
                    {self && <span className="muted"> (you)</span>}
                  </td>
                  <td>
                    {mayChange ? (
                      <RoleForm member={member} choices={choices} />
                    ) : (
                      <span className="pill" data-testid="role">
                        {ROLE_LABELS[member.role]}
                      </span>
                    )}
                  </td>
                  <td className="muted">{formatWhen(member.joinedAt)}</td>
                  <td className="row-actions">
                    {self ? (
                      <ConfirmAction
                        label="Leave"
                        question={`Leave this org? You lose access to its servers.`}
                        confirm="Yes, leave"
                        fields={{ intent: "remove", userId: member.userId, email: member.email, self: "yes" }}
                      />
                    ) : (
                      mayChange && (
                        <ConfirmAction
                          label="Remove"
                          question={`Remove ${member.email}? They lose access to this org's servers at once.`}
                          confirm="Yes, remove"
                          fields={{ intent: "remove", userId: member.userId, email: member.email }}
                        />
                      )
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
