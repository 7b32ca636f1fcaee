import type { GrantView } from "@isola/schema";
import { Link } from "react-router";
import { ConfirmAction } from "../components/confirm-action.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { TableHead } from "../components/table-head.tsx";
import { webContext } from "../lib/context.ts";
import { field } from "../lib/forms.server.ts";
import { changed, refused } from "../lib/org-actions.server.ts";
import { formatWhen } from "../lib/org-format.ts";
import { problemResponse } from "../lib/problems.ts";
import orgStyles from "../styles/org.css?url";
import type { Route } from "./+types/account-grants";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: orgStyles }];

export const meta: Route.MetaFunction = () => [{ title: "Authorized apps · Isola" }];

export async function loader({ context }: Route.LoaderArgs) {
  const answer = await context.get(webContext).control.get<{ items: GrantView[] }>("/me/grants");
  if (!answer.ok) throw problemResponse(answer.problem);
  return { grants: answer.data.items };
}

export async function action({ request, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const answer = await web.control.delete(`/me/grants/${encodeURIComponent(field(form, "id"))}`);
  if (!answer.ok) return refused(answer.problem);
  return changed(
    web,
    `${field(form, "client")} can no longer use your servers: its tokens stopped working.`,
    "/account/grants",
  );
}

/** A client's registered name is its own claim: shown as text, with its id to tell look-alikes apart. */
const clientLabel = (grant: GrantView) => grant.client.name ?? grant.client.id;

export default function Grants({ loaderData, actionData }: Route.ComponentProps) {
  const { grants } = loaderData;
  return (
    <>
      <div className="page-header">
        <h1>Authorized apps</h1>
      </div>
      <p className="muted">
        MCP clients you signed in to with Isola. Each may call the servers listed with the scopes you allowed, until you
        revoke it. Revoking stops its tokens at once; it asks for your consent again next time.
      </p>
      {actionData?.problem && <ProblemMessage problem={actionData.problem} />}
      {grants.length === 0 ? (
        <p className="muted empty" data-testid="grants-empty">
          You have not authorized any MCP client.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="grants">
            <TableHead columns={["Client", "Servers and scopes", "Authorized", "Expires"]} />
            <tbody>
              {grants.map((grant) => (
                <tr key={grant.id} data-client={clientLabel(grant)}>
                  <td>
                    <strong>{clientLabel(grant)}</strong>
                    <div className="muted small">
                      <code>{grant.client.id}</code>
                    </div>
                  </td>
                  <td>
                    <ul className="plain-list">
                      {grant.resources.map((resource) => (
                        <li key={resource.url}>
                          {resource.server ? (
                            <Link to={`/servers/${encodeURIComponent(resource.server)}`}>{resource.server}</Link>
                          ) : (
                            <span className="muted">deleted server</span>
                          )}{" "}
                          <code className="muted small">{resource.url}</code>
                          <div>
                            {resource.scopes.map((scope) => (
                              <code key={scope} className="scope">
                                {scope}
                              </code>
                            ))}
                          </div>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td className="muted nowrap">{formatWhen(grant.createdAt)}</td>
                  <td className="muted nowrap">{grant.expiresAt ? formatWhen(grant.expiresAt) : "Never"}</td>
                  <td className="row-actions">
                    <ConfirmAction
                      label="Revoke"
                      question={`Revoke ${clientLabel(grant)}? It stops working at once.`}
                      confirm="Yes, revoke"
                      fields={{ id: grant.id, client: clientLabel(grant) }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
