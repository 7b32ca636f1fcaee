import { AUDIT_ACTOR_TYPES, type AuditEntryView } from "@isola/schema";
import { Form, Link } from "react-router";
import { SelectField, TextField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { webContext } from "../lib/context.ts";
import { problemFormErrors } from "../lib/forms.server.ts";
import { AUDIT_FILTERS, auditApiQuery, auditPageHref, formatWhen } from "../lib/org-format.ts";
import { problemResponse } from "../lib/problems.ts";
import type { Route } from "./+types/org-audit";

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Audit log · ${params.org} · Isola` }];

/** The filters live in the URL (a GET form): a filtered view is a link to share or bookmark. */
export async function loader({ request, params, context }: Route.LoaderArgs) {
  const search = new URL(request.url).searchParams;
  const { query, values } = auditApiQuery(search);
  const answer = await context
    .get(webContext)
    .control.get<{ items: AuditEntryView[]; next: string | null }>(
      `/orgs/${encodeURIComponent(params.org)}/audit?${query}`,
    );
  const paged = search.has("cursor");
  // From the loader, not imported by the component: the schema module would bring zod to the browser.
  const actorTypes = AUDIT_ACTOR_TYPES;
  if (answer.ok) return { entries: answer.data.items, next: answer.data.next, values, paged, actorTypes, errors: null };
  // Bad filters: the API's message next to the field it names; anything else is the page's error.
  if (answer.status !== 400) throw problemResponse(answer.problem);
  const errors = problemFormErrors(answer.problem, values);
  return { entries: [], next: null, values, paged, actorTypes, errors };
}

function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ");
}

export default function Audit({ loaderData }: Route.ComponentProps) {
  const { entries, next, values, paged, actorTypes, errors } = loaderData;
  const filtered = AUDIT_FILTERS.some((name) => values[name]);
  return (
    <section aria-labelledby="audit-heading" className="stack">
      <h2 id="audit-heading" className="visually-hidden">
        Audit log
      </h2>
      <Form method="get" className="card filters" noValidate>
        <TextField
          name="action"
          label="Action"
          placeholder="server.create or server."
          defaultValue={values.action}
          error={errors?.fieldErrors.action}
        />
        <SelectField
          name="actorType"
          label="Actor"
          defaultValue={values.actorType}
          error={errors?.fieldErrors.actorType}
        >
          <option value="">Anyone</option>
          {actorTypes.map((type) => (
            <option key={type} value={type}>
              {type === "user" ? "A person (session)" : type === "token" ? "A token" : "The system"}
            </option>
          ))}
        </SelectField>
        <TextField
          name="targetType"
          label="Target type"
          placeholder="server"
          defaultValue={values.targetType}
          error={errors?.fieldErrors.targetType}
        />
        <TextField
          name="targetId"
          label="Target id"
          defaultValue={values.targetId}
          error={errors?.fieldErrors.targetId}
        />
        <TextField
          name="from"
          label="From (UTC)"
          type="datetime-local"
          defaultValue={values.from}
          error={errors?.fieldErrors.from}
        />
        <TextField
          name="to"
          label="To (UTC)"
          type="datetime-local"
          defaultValue={values.to}
          error={errors?.fieldErrors.to}
        />
        <div className="filters-actions">
          <button type="submit" className="btn btn-primary">
            Filter
          </button>
          {filtered && (
            <Link className="btn" to="?">
              Clear
            </Link>
          )}
        </div>
      </Form>
      {errors?.formError && <ProblemMessage problem={errors.formError} />}
      {entries.length === 0 ? (
        <p className="muted empty" data-testid="audit-empty">
          {errors ? "Fix the filters above to see entries." : "No entries match."}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td className="muted nowrap">{formatWhen(entry.at)}</td>
                  <td>
                    {entry.actor.label}
                    <span className="muted"> · {entry.actor.type}</span>
                  </td>
                  <td>
                    <code data-testid="audit-action">{entry.action}</code>
                  </td>
                  <td>
                    {entry.target.type}
                    {entry.target.id && <code className="muted"> {entry.target.id}</code>}
                  </td>
                  <td className="muted detail">{detailText(entry.detail)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {(paged || next) && (
        <nav className="pager" aria-label="Pages">
          {paged && (
            <Link className="btn btn-sm" to={auditPageHref(values, null)}>
              First page
            </Link>
          )}
          {next && (
            <Link className="btn btn-sm" to={auditPageHref(values, next)}>
              Older entries →
            </Link>
          )}
        </nav>
      )}
    </section>
  );
}
