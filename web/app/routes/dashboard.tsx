import type { BuildView, OrgUsageView, ServerView } from "@isola/schema";
import { Link } from "react-router";
import { ButtonLink } from "../components/button.tsx";
import { Card } from "../components/card.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { type ServerStatus, StatusPill } from "../components/status-pill.tsx";
import { meContext, webContext } from "../lib/context.ts";
import { problemResponse } from "../lib/problems.ts";
import dashboardStyles from "../styles/dashboard.css?url";
import type { Route } from "./+types/dashboard";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: dashboardStyles }];
export const meta: Route.MetaFunction = () => [{ title: "Dashboard · Isola" }];

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export async function loader({ context }: Route.LoaderArgs) {
  const me = context.get(meContext);
  const web = context.get(webContext);
  const control = web.control;
  const [servers, usage, builds] = await Promise.all([
    control.get<{ items: ServerView[] }>("/servers?limit=200"),
    Promise.all(
      me.orgs.map(async (org) => {
        const answer = await control.get<OrgUsageView>(`/orgs/${encodeURIComponent(org.slug)}/usage`);
        return { org: org.name, usage: answer.ok ? answer.data : null, problem: answer.ok ? null : answer.problem };
      }),
    ),
    control.get<{ items: BuildView[] }>("/builds?limit=8").then((answer) => (answer.ok ? answer.data.items : [])),
  ]);
  if (!servers.ok) throw problemResponse(servers.problem);
  return { email: me.user.email, servers: servers.data.items, usage, builds };
}

/** A server's pill: "building" while a build of it runs, else its own status. */
function statusOf(server: ServerView, builds: BuildView[]): ServerStatus {
  const building = builds.some((build) => build.server === server.slug && !FINISHED.has(build.status));
  return building ? "building" : server.status;
}

const BUILD_PILL: Record<BuildView["status"], ServerStatus> = {
  queued: "building",
  planning: "building",
  waiting: "draft",
  confirmed: "building",
  coding: "building",
  checking: "building",
  deploying: "building",
  succeeded: "live",
  failed: "failed",
  cancelled: "paused",
};

const BUILD_WORDS: Record<BuildView["status"], string> = {
  queued: "Queued",
  planning: "Planning",
  waiting: "Waiting for you",
  confirmed: "Confirmed",
  coding: "Writing code",
  checking: "Checking",
  deploying: "Deploying",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

const day = (iso: string) =>
  new Date(iso).toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
const number = (value: number) => value.toLocaleString("en");

function UsageMeter({ org, usage }: { org: string; usage: OrgUsageView }) {
  const { used, limit } = usage.calls;
  const percent = limit > 0 ? Math.min(100, Math.round((used / limit) * 100)) : 0;
  // The period ends at `to`, exclusive: the last day is the one before.
  const lastDay = new Date(Date.parse(usage.period.to) - 1).toISOString();
  const id = `usage-${usage.org}`;
  return (
    <div className="usage">
      <div className="usage-head">
        <span id={id}>Tool calls this period{org ? ` · ${org}` : ""}</span>
        <span className="muted">
          {day(usage.period.from)} – {day(lastDay)}
        </span>
      </div>
      <progress className="usage-bar" aria-labelledby={id} value={Math.min(used, limit)} max={Math.max(limit, 1)} />
      <p className="usage-text" data-testid="usage-text">
        <strong>{number(used)}</strong> of {number(limit)} calls ({percent}%)
        {usage.calls.refused > 0 && <span className="muted"> · {number(usage.calls.refused)} refused</span>}
      </p>
    </div>
  );
}

export default function Dashboard({ loaderData }: Route.ComponentProps) {
  const { email, servers, usage, builds } = loaderData;
  return (
    <>
      <div className="page-header">
        <h1>Dashboard</h1>
        <ButtonLink variant="primary" to="/servers/new">
          New server
        </ButtonLink>
      </div>
      <p className="muted">
        Signed in as <strong data-testid="dashboard-email">{email}</strong>
      </p>
      <div className="dashboard">
        <Card title="Servers">
          {servers.length === 0 ? (
            <div className="empty" data-testid="servers-empty">
              <p className="empty-title">No servers yet</p>
              <p className="muted">
                Describe the tools you want and a model writes the server, or deploy a ready-made one from the gallery.
              </p>
              <p className="empty-actions">
                <ButtonLink variant="primary" to="/servers/new">
                  New server
                </ButtonLink>
                <ButtonLink to="/servers/new#templates">Browse templates</ButtonLink>
              </p>
            </div>
          ) : (
            <table className="table servers-table">
              <thead>
                <tr>
                  <th scope="col">Server</th>
                  <th scope="col">Status</th>
                  <th scope="col">URL</th>
                </tr>
              </thead>
              <tbody>
                {servers.map((server) => (
                  <tr key={server.id}>
                    <td>
                      <Link to={`/servers/${server.slug}`}>{server.name}</Link>
                      <div className="muted server-meta">
                        {server.slug} · {server.org}
                      </div>
                    </td>
                    <td>
                      <StatusPill status={statusOf(server, builds)} />
                    </td>
                    <td>
                      <code className="server-url">{server.mcpUrl}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <div className="dashboard-side">
          <Card title="Usage">
            {usage.map((entry) =>
              entry.usage ? (
                <UsageMeter key={entry.org} org={usage.length > 1 ? entry.org : ""} usage={entry.usage} />
              ) : (
                entry.problem && <ProblemMessage key={entry.org} problem={entry.problem} />
              ),
            )}
          </Card>
          <Card title="Recent builds">
            {builds.length === 0 ? (
              <p className="muted">Builds you start from a brief show here.</p>
            ) : (
              <ul className="recent-builds">
                {builds.map((build) => (
                  <li key={build.id}>
                    <Link to={`/servers/new/${build.id}`} className="recent-build-link">
                      {build.plan?.server.name ?? build.server ?? build.prompt}
                    </Link>
                    <span className={`pill pill-${BUILD_PILL[build.status]}`}>{BUILD_WORDS[build.status]}</span>
                    <span className="muted recent-build-when">{day(build.createdAt)}</span>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      </div>
    </>
  );
}
