import type { OrgUsageView, OrgView, ProblemDetails } from "@isola/schema";
import { Form, Link, useRouteLoaderData } from "react-router";
import { ProblemMessage } from "../components/problem-message.tsx";
import { webContext } from "../lib/context.ts";
import { formatCount, formatWhen, monthLabel, shiftMonth, usagePercent } from "../lib/org-format.ts";
import type { Route } from "./+types/org-usage";

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Plan and usage · ${params.org} · Isola` }];

/** The month in the URL (?month=YYYY-MM) or the current one; a month the API refuses is shown as its problem. */
export async function loader({ request, params, context }: Route.LoaderArgs) {
  const month = new URL(request.url).searchParams.get("month");
  const query = month ? `?month=${encodeURIComponent(month)}` : "";
  const answer = await context
    .get(webContext)
    .control.get<OrgUsageView>(`/orgs/${encodeURIComponent(params.org)}/usage${query}`);
  if (!answer.ok) return { usage: null, problem: answer.problem as ProblemDetails, month };
  return { usage: answer.data, problem: null, month: answer.data.month };
}

function QuotaBar({ used, limit }: { used: number; limit: number }) {
  const percent = usagePercent(used, limit);
  return (
    <div className="quota">
      <div className="quota-numbers">
        <strong data-testid="calls-used">{formatCount(used)}</strong>
        <span className="muted"> of {formatCount(limit)} calls</span>
        <span className="muted quota-percent">{percent.toFixed(percent > 0 && percent < 1 ? 1 : 0)}%</span>
      </div>
      <div
        className={`quota-bar${percent >= 90 ? " quota-bar-high" : ""}`}
        role="progressbar"
        aria-label="Calls this month against the plan's quota"
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={Math.min(used, limit)}
      >
        <div className="quota-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

export default function Usage({ loaderData, params }: Route.ComponentProps) {
  const { usage, problem, month } = loaderData;
  const org = useRouteLoaderData<{ org: OrgView }>("routes/org")?.org;
  const current = new Date().toISOString().slice(0, 7);
  const shown = usage?.month ?? current;
  const previous = shiftMonth(shown, -1);
  const next = shiftMonth(shown, 1);
  const base = `/orgs/${encodeURIComponent(params.org)}/usage`;
  return (
    <section aria-labelledby="usage-heading" className="stack">
      <div className="section-header">
        <h2 id="usage-heading">{monthLabel(shown)}</h2>
        <nav className="month-switcher" aria-label="Month">
          {previous && (
            <Link className="btn btn-sm" to={`${base}?month=${previous}`} rel="prev">
              ← {monthLabel(previous)}
            </Link>
          )}
          {next && next <= current && (
            <Link className="btn btn-sm" to={`${base}?month=${next}`} rel="next">
              {monthLabel(next)} →
            </Link>
          )}
          <Form method="get" className="inline-form">
            <label className="visually-hidden" htmlFor="month">
              Month
            </label>
            <input
              id="month"
              name="month"
              type="month"
              className="field-input select-sm"
              defaultValue={month ?? shown}
              max={current}
            />
            <button type="submit" className="btn btn-sm">
              Show
            </button>
          </Form>
        </nav>
      </div>
      {problem && <ProblemMessage problem={problem} />}
      {usage && (
        <>
          <div className="grid">
            <div className="card">
              <h3 className="card-title">Tool calls</h3>
              <QuotaBar used={usage.calls.used} limit={usage.calls.limit} />
              <p className="muted small">
                {formatCount(usage.calls.refused)} refused by a rate limit or the quota. The quota resets{" "}
                {formatWhen(usage.period.to)}.
              </p>
            </div>
            <div className="card">
              <h3 className="card-title">Model (ctx.llm)</h3>
              <dl className="stats">
                <dt>Completions</dt>
                <dd data-testid="llm-calls">{formatCount(usage.llm.calls)}</dd>
                <dt>Input tokens</dt>
                <dd>{formatCount(usage.llm.inputTokens)}</dd>
                <dt>Output tokens</dt>
                <dd>{formatCount(usage.llm.outputTokens)}</dd>
              </dl>
            </div>
            {org && (
              <div className="card">
                <h3 className="card-title">Plan: {org.plan.name}</h3>
                <dl className="stats">
                  <dt>Servers</dt>
                  <dd>
                    {formatCount(org.servers)} of {formatCount(org.plan.maxServers)}
                  </dd>
                  <dt>Calls a month</dt>
                  <dd>{formatCount(org.plan.callsPerMonth)}</dd>
                  <dt>Rate limit</dt>
                  <dd>{formatCount(org.plan.rateLimitPerMinute)} a minute</dd>
                  <dt>Memory</dt>
                  <dd>{formatCount(org.plan.memoryMb)} MB</dd>
                </dl>
              </div>
            )}
          </div>
          <h3>By server</h3>
          {usage.servers.length === 0 ? (
            <p className="muted empty">No tool calls this month.</p>
          ) : (
            <div className="table-wrap">
              <table className="table" data-testid="usage-servers">
                <thead>
                  <tr>
                    <th scope="col">Server</th>
                    <th scope="col" className="num">
                      Calls
                    </th>
                    <th scope="col" className="num">
                      Errors
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {usage.servers.map((server) => (
                    <tr key={server.slug} data-slug={server.slug}>
                      <td>
                        <Link to={`/servers/${encodeURIComponent(server.slug)}`}>{server.name}</Link>{" "}
                        <code className="muted">{server.slug}</code>
                      </td>
                      <td className="num" data-testid="server-calls">
                        {formatCount(server.calls)}
                      </td>
                      <td className="num">{formatCount(server.errors)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="muted small">Calls reach this page within a few seconds (usage is written in batches).</p>
        </>
      )}
    </section>
  );
}
