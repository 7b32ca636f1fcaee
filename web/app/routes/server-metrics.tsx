import type { UsageView } from "@isola/schema";
import { lazy, Suspense } from "react";
import { Link } from "react-router";
import { Card } from "../components/card.tsx";
import { webContext } from "../lib/context.ts";
import { problemResponse } from "../lib/problems.ts";
import {
  errorKinds,
  errorRate,
  formatMs,
  isUsageRange,
  USAGE_RANGES,
  type UsageRange,
  usagePoints,
  usageQueryOf,
} from "../lib/usage-series.ts";
import serverPageStyles from "../styles/server-pages.css?url";
import type { Route } from "./+types/server-metrics";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: serverPageStyles }];

export async function loader({ params, request, context }: Route.LoaderArgs) {
  const asked = new URL(request.url).searchParams.get("range");
  const range: UsageRange = isUsageRange(asked) ? asked : "24h";
  const answer = await context
    .get(webContext)
    .control.get<UsageView>(`/servers/${encodeURIComponent(params.slug)}/usage?${usageQueryOf(range, new Date())}`);
  if (!answer.ok) throw problemResponse(answer.problem);
  return { slug: params.slug, range, usage: answer.data };
}

// recharts is about 110 KB gzipped, as much as the rest of a page's JavaScript: it loads after
// the page, which is usable at once (the totals and the per-tool table have the numbers).
const UsageCharts = lazy(() =>
  import("../components/usage-charts.tsx").then((module) => ({ default: module.UsageCharts })),
);

/** The charts' places while recharts loads: the same boxes, so nothing moves when they arrive. */
function ChartPlaceholders() {
  return (
    <div className="charts" aria-busy="true">
      {["Calls", "Latency (ms)", "Errors by kind"].map((title) => (
        <figure key={title} className="card chart-card">
          <figcaption className="card-title">{title}</figcaption>
          <div className="chart" />
        </figure>
      ))}
    </div>
  );
}

const percent = (rate: number | null) => (rate === null ? "–" : `${rate}%`);

export default function ServerMetrics({ loaderData }: Route.ComponentProps) {
  const { slug, range, usage } = loaderData;
  const { totals } = usage;
  return (
    <div className="server-page">
      <nav className="toolbar range-links" aria-label="Range">
        {(Object.keys(USAGE_RANGES) as UsageRange[]).map((option) => (
          <Link
            key={option}
            to={`/servers/${slug}/metrics?range=${option}`}
            className="btn btn-sm"
            aria-current={option === range ? "page" : undefined}
          >
            Last {option}
          </Link>
        ))}
      </nav>
      <Card title={`Last ${range}`}>
        <dl className="facts">
          <dt>Calls</dt>
          <dd data-testid="total-calls">{totals.calls}</dd>
          <dt>Error rate</dt>
          <dd>{percent(errorRate(totals))}</dd>
          <dt>Latency p50 / p95 / p99</dt>
          <dd>
            {formatMs(totals.latencyMs.p50)} / {formatMs(totals.latencyMs.p95)} / {formatMs(totals.latencyMs.p99)}
          </dd>
        </dl>
      </Card>
      {totals.calls === 0 ? (
        <p className="muted">
          No calls in this range. Call a tool (the Tools tab has a playground) and they show here.
        </p>
      ) : (
        <>
          <Suspense fallback={<ChartPlaceholders />}>
            <UsageCharts points={usagePoints(usage)} errorKinds={errorKinds(usage)} />
          </Suspense>
          <Card title="Per tool">
            <div className="table-scroll">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Tool</th>
                    <th scope="col">Calls</th>
                    <th scope="col">Errors</th>
                    <th scope="col">Error rate</th>
                    <th scope="col">p50</th>
                    <th scope="col">p95</th>
                    <th scope="col">p99</th>
                  </tr>
                </thead>
                <tbody>
                  {usage.tools.map((tool) => (
                    <tr key={tool.tool}>
                      <td>
                        <code>{tool.tool}</code>
                      </td>
                      <td>{tool.calls}</td>
                      <td>{tool.errors}</td>
                      <td>{percent(errorRate(tool))}</td>
                      <td>{formatMs(tool.latencyMs.p50)}</td>
                      <td>{formatMs(tool.latencyMs.p95)}</td>
                      <td>{formatMs(tool.latencyMs.p99)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        </>
      )}
    </div>
  );
}
