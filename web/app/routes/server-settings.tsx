import type { ProblemDetails, ServerView, VersionView } from "@isola/schema";
import { Form, redirect } from "react-router";
import { Button, SubmitButton } from "../components/button.tsx";
import { CheckboxField, SelectField, TextAreaField, TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { webContext } from "../lib/context.ts";
import { ifMatch } from "../lib/control-headers.ts";
import { setFlash } from "../lib/flash.server.ts";
import { field, parseForm } from "../lib/forms.server.ts";
import { problemResponse } from "../lib/problems.ts";
import { deleteForm, parseSettings } from "../lib/server-tab-forms.server.ts";
import { refused, refusedByProblem, STALE_EDIT, serverApiPath } from "../lib/server-tabs.server.ts";
import styles from "../styles/server-tabs.css?url";
import type { Route } from "./+types/server-settings";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: styles }];

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Settings · ${params.slug} · Isola` }];

/** The server, and the hosts its live version's code declares (what egress approvals are about). */
export async function loader({ params, context }: Route.LoaderArgs) {
  const { control } = context.get(webContext);
  const server = await control.get<ServerView>(serverApiPath(params.slug));
  if (!server.ok) throw problemResponse(server.problem);
  const number = server.data.activeVersion;
  const version =
    number === null ? null : await control.get<VersionView>(serverApiPath(params.slug, `/versions/${number}`));
  return { server: server.data, declaredHosts: version?.ok ? version.data.manifest.egress : [] };
}

/** A PATCH refused: a stale edit in words, a taken domain next to its field, the rest as control says. */
function refusedUpdate(intent: string, problem: ProblemDetails, values: Record<string, string>) {
  if (problem.status === 412 || problem.status === 428) {
    return refused(intent, { fieldErrors: {}, formError: STALE_EDIT, values }, problem.status);
  }
  if (problem.type.endsWith(":conflict") && values.customDomain) {
    return refused(intent, { fieldErrors: { customDomain: problem.detail }, values }, problem.status);
  }
  return refusedByProblem(intent, problem, values);
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const intent = field(form, "intent");
  const path = serverApiPath(params.slug);
  const revision = field(form, "revision");

  if (intent === "save") {
    const parsed = parseSettings(form);
    if (!parsed.ok) return refused(intent, parsed);
    const answer = await web.control.patch(path, parsed.data, ifMatch(revision));
    if (!answer.ok) {
      const values = Object.fromEntries([...form].map(([name, value]) => [name, String(value)]));
      return refusedUpdate(intent, answer.problem, values);
    }
    await setFlash(web, { kind: "success", message: "Settings saved." });
    return { intent, ok: true as const };
  }

  if (intent === "approve" || intent === "revoke") {
    const host = field(form, "host");
    const approved = field(form, "approved").split("\n").filter(Boolean);
    const egressApproved =
      intent === "approve" ? [...new Set([...approved, host])] : approved.filter((entry) => entry !== host);
    const answer = await web.control.patch(path, { egressApproved }, ifMatch(revision));
    if (!answer.ok) return refusedUpdate("egress", answer.problem, {});
    const message = intent === "approve" ? `${host} approved.` : `${host} no longer approved: calls to it are refused.`;
    await setFlash(web, { kind: "success", message });
    return { intent: "egress", ok: true as const };
  }

  if (intent === "pause" || intent === "resume") {
    const answer = await web.control.post(serverApiPath(params.slug, `/${intent}`));
    if (!answer.ok) return refusedByProblem("status", answer.problem);
    const message =
      intent === "pause" ? "Paused: MCP calls are refused (503) until you resume." : "Resumed: serving calls again.";
    await setFlash(web, { kind: "success", message });
    return { intent: "status", ok: true as const };
  }

  if (intent === "delete") {
    const parsed = parseForm(form, deleteForm(params.slug));
    if (!parsed.ok) return refused(intent, parsed);
    const answer = await web.control.delete(path);
    if (!answer.ok) return refusedByProblem(intent, answer.problem, { confirm: "" });
    await setFlash(web, { kind: "success", message: `Server ${params.slug} deleted.` });
    throw redirect("/dashboard");
  }
  return refused(intent, { fieldErrors: {}, formError: { title: "Unknown action", detail: intent }, values: {} });
}

export default function Settings({ loaderData, actionData }: Route.ComponentProps) {
  const { server, declaredHosts } = loaderData;
  const errorOf = (intent: string) =>
    actionData && !actionData.ok && actionData.intent === intent ? actionData : undefined;
  const save = errorOf("save");
  const value = (name: string, current: string) => save?.values[name] ?? current;
  const approved = new Set(server.egressApproved);
  const hosts = [...new Set([...declaredHosts, ...server.egressApproved])].sort();
  const deleting = errorOf("delete");
  return (
    <div className="tab-page">
      <section className="tab-section" aria-labelledby="general-title">
        <h2 id="general-title">General</h2>
        {/* key: a saved form starts again from the server's new values. */}
        <Form method="post" className="form settings-form" noValidate key={`settings-${server.revision}`}>
          {save?.formError && <ProblemMessage problem={save.formError} />}
          <input type="hidden" name="revision" value={server.revision} />
          <TextField
            name="name"
            label="Name"
            defaultValue={value("name", server.name)}
            error={save?.fieldErrors.name}
          />
          <TextAreaField
            name="description"
            label="Description"
            rows={2}
            defaultValue={value("description", server.description)}
            error={save?.fieldErrors.description}
          />
          <SelectField
            name="authMode"
            label="Authentication"
            defaultValue={value("authMode", server.authMode)}
            hint="How MCP clients prove who they are."
            error={save?.fieldErrors.authMode}
          >
            <option value="oauth">OAuth (clients sign in)</option>
            <option value="api_key">API keys</option>
            <option value="public">Public (no authentication)</option>
          </SelectField>
          <SelectField
            name="accessKind"
            label="Who may use it"
            defaultValue={value("accessKind", server.accessPolicy.kind)}
            hint="For OAuth servers: which signed-in people may connect."
            error={save?.fieldErrors.accessKind}
          >
            <option value="org">Members of the org</option>
            <option value="instance">Anyone with an account on this instance</option>
            <option value="invite_list">Only the emails listed below</option>
          </SelectField>
          <TextAreaField
            name="accessEmails"
            label="Invited emails"
            rows={2}
            hint="One per line; used when access is the invite list."
            defaultValue={value(
              "accessEmails",
              server.accessPolicy.kind === "invite_list" ? server.accessPolicy.emails.join("\n") : "",
            )}
            error={save?.fieldErrors.accessEmails}
          />
          <TextAreaField
            name="allowedOrigins"
            label="Allowed browser origins"
            rows={2}
            spellCheck={false}
            hint="One per line, like https://app.example.com. Browsers on other sites cannot call the endpoint."
            defaultValue={value("allowedOrigins", server.allowedOrigins.join("\n"))}
            error={save?.fieldErrors.allowedOrigins}
          />
          <TextField
            name="customDomain"
            label="Custom domain"
            spellCheck={false}
            hint="Like mcp.example.com, pointed at this instance. Empty: none."
            defaultValue={value("customDomain", server.customDomain ?? "")}
            error={save?.fieldErrors.customDomain}
          />
          <CheckboxField
            name="legacySse"
            label="Also serve the legacy HTTP+SSE transport"
            hint={`For older clients: ${server.mcpUrl.replace(/\/mcp$/, "/sse")}`}
            defaultChecked={save ? save.values.legacySse === "on" : server.legacySse}
            error={save?.fieldErrors.legacySse}
          />
          <div className="form-actions">
            <SubmitButton name="intent" value="save" pendingLabel="Saving…">
              Save settings
            </SubmitButton>
          </div>
        </Form>
      </section>

      <section className="tab-section" aria-labelledby="egress-title">
        <h2 id="egress-title">Egress</h2>
        <p className="muted">
          The hosts the code may call. The live version declares them; each must be approved before it deploys.
        </p>
        {errorOf("egress")?.formError && <ProblemMessage problem={errorOf("egress")?.formError as ProblemDetails} />}
        {hosts.length === 0 ? (
          <p className="empty">The live version calls no outside host.</p>
        ) : (
          <table className="table" data-testid="egress">
            <tbody>
              {hosts.map((host) => (
                <tr key={host}>
                  <td>
                    <code>{host}</code>
                  </td>
                  <td className="muted">
                    {approved.has(host) ? "Approved" : "Not approved"}
                    {!declaredHosts.includes(host) && " · not declared by the live version"}
                  </td>
                  <td className="row-actions">
                    <Form method="post">
                      <input type="hidden" name="revision" value={server.revision} />
                      <input type="hidden" name="host" value={host} />
                      <input type="hidden" name="approved" value={server.egressApproved.join("\n")} />
                      <Button type="submit" size="sm" name="intent" value={approved.has(host) ? "revoke" : "approve"}>
                        {approved.has(host) ? `Revoke ${host}` : `Approve ${host}`}
                      </Button>
                    </Form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="tab-section" aria-labelledby="status-title">
        <h2 id="status-title">Pause</h2>
        {errorOf("status")?.formError && <ProblemMessage problem={errorOf("status")?.formError as ProblemDetails} />}
        <Form method="post" className="row">
          {server.status === "paused" ? (
            <>
              <p>Paused: MCP calls are answered 503.</p>
              <Button type="submit" name="intent" value="resume">
                Resume
              </Button>
            </>
          ) : (
            <>
              <p className="muted">Stop serving MCP calls until you resume. Nothing is deleted.</p>
              <Button type="submit" name="intent" value="pause">
                Pause
              </Button>
            </>
          )}
        </Form>
      </section>

      <section className="tab-section danger-zone" aria-labelledby="delete-title">
        <h2 id="delete-title">Delete this server</h2>
        <p className="muted">
          Its versions, secrets and keys go with it, and <code>{server.slug}</code> becomes free for anyone. This cannot
          be undone.
        </p>
        <Form method="post" className="form inline-form" noValidate>
          {deleting?.formError && <ProblemMessage problem={deleting.formError} />}
          <TextField
            name="confirm"
            label={`Type ${server.slug} to confirm`}
            autoComplete="off"
            spellCheck={false}
            error={deleting?.fieldErrors.confirm}
          />
          <SubmitButton name="intent" value="delete" variant="danger" pendingLabel="Deleting…">
            Delete server
          </SubmitButton>
        </Form>
      </section>
    </div>
  );
}
