import type { BuildView, ProblemDetails, VersionView } from "@isola/schema";
import { Form, Link, redirect, useSearchParams } from "react-router";
import { Button, SubmitButton } from "../components/button.tsx";
import { TextAreaField } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { TableHead } from "../components/table-head.tsx";
import { webContext } from "../lib/context.ts";
import { setFlash } from "../lib/flash.server.ts";
import { field, parseForm } from "../lib/forms.server.ts";
import { type DiffHunk, diffFiles, hunks } from "../lib/line-diff.ts";
import { iterateForm } from "../lib/server-tab-forms.server.ts";
import { refused, refusedByProblem, serverApiPath } from "../lib/server-tabs.server.ts";
import { ASPECT_LABELS, diffTools, type ToolDiff } from "../lib/tool-diff.ts";
import styles from "../styles/server-tabs.css?url";
import type { Route } from "./+types/server-versions";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: styles }];

export const meta: Route.MetaFunction = ({ params }) => [{ title: `Versions · ${params.slug} · Isola` }];

interface Deployment {
  version: number;
  previousVersion: number | null;
  kind: "deploy" | "rollback";
  actor: string;
  createdAt: string;
}
interface Page<T> {
  items: T[];
  next: string | null;
}
interface VersionDetail extends VersionView {
  source: Record<string, string>;
}

const PAGE = 20;

/** Two versions' difference, computed here so that the browser gets only what it shows. */
interface Comparison {
  from: number;
  to: number;
  files: { path: string; status: string; added: number; removed: number; hunks: DiffHunk[] }[];
  tools: ToolDiff;
}

export async function loader({ params, request, context }: Route.LoaderArgs) {
  const { control } = context.get(webContext);
  const url = new URL(request.url);
  const cursor = url.searchParams.get("cursor");
  const query = `?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
  const [versions, deployments] = await Promise.all([
    control.get<Page<VersionView>>(serverApiPath(params.slug, `/versions${query}`)),
    control.get<Page<Deployment>>(serverApiPath(params.slug, "/deployments?limit=10")),
  ]);
  const from = Number(url.searchParams.get("from"));
  const to = Number(url.searchParams.get("to"));
  let comparison: Comparison | null = null;
  let comparisonProblem: ProblemDetails | null = null;
  if (Number.isInteger(from) && Number.isInteger(to) && from > 0 && to > 0) {
    const [before, after] = await Promise.all([
      control.get<VersionDetail>(serverApiPath(params.slug, `/versions/${from}`)),
      control.get<VersionDetail>(serverApiPath(params.slug, `/versions/${to}`)),
    ]);
    if (before.ok && after.ok) {
      comparison = {
        from,
        to,
        files: diffFiles(before.data.source, after.data.source).map(({ lines, ...file }) => ({
          ...file,
          hunks: hunks(lines),
        })),
        tools: diffTools(before.data.manifest.tools, after.data.manifest.tools),
      };
    } else {
      comparisonProblem = before.ok ? (after.ok ? null : after.problem) : before.problem;
    }
  }
  return {
    versions: versions.ok ? versions.data : { items: [], next: null },
    versionsProblem: versions.ok ? null : versions.problem,
    deployments: deployments.ok ? deployments.data.items : [],
    comparison,
    comparisonProblem,
    firstPage: !cursor,
  };
}

export async function action({ request, params, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const intent = field(form, "intent");
  if (intent === "deploy" || intent === "rollback") {
    const version = Number(field(form, "version"));
    const answer = await web.control.post(serverApiPath(params.slug, `/${intent}`), { version });
    if (!answer.ok) return refusedByProblem(intent, answer.problem);
    const done = intent === "deploy" ? `Version ${version} deployed` : `Rolled back to version ${version}`;
    await setFlash(web, { kind: "success", message: `${done}: it serves now.` });
    return { intent, ok: true as const };
  }
  const parsed = parseForm(form, iterateForm);
  if (!parsed.ok) return refused("iterate", parsed);
  const answer = await web.control.post<BuildView>(serverApiPath(params.slug, "/builds"), parsed.data);
  if (!answer.ok) return refusedByProblem("iterate", answer.problem, { prompt: parsed.data.prompt });
  throw redirect(`/servers/new/${answer.data.id}`);
}

const when = (iso: string) => iso.slice(0, 16).replace("T", " ");

function ToolChanges({ tools }: { tools: ToolDiff }) {
  const none = tools.added.length + tools.removed.length + tools.changed.length === 0;
  if (none) return <p className="muted">The tools are the same ({tools.unchanged.length}).</p>;
  return (
    <ul className="tool-diff" data-testid="tool-diff">
      {tools.added.map((tool) => (
        <li key={`+${tool.name}`} className="diff-added">
          <span className="diff-mark">added</span> <code>{tool.name}</code>{" "}
          <span className="muted">{tool.description}</span>
        </li>
      ))}
      {tools.removed.map((tool) => (
        <li key={`-${tool.name}`} className="diff-removed">
          <span className="diff-mark">removed</span> <code>{tool.name}</code>
        </li>
      ))}
      {tools.changed.map((tool) => (
        <li key={`~${tool.name}`} className="diff-changed">
          <span className="diff-mark">changed</span> <code>{tool.name}</code>:{" "}
          {tool.changes.map((aspect) => ASPECT_LABELS[aspect]).join(", ")}
          {tool.changes.includes("description") && (
            <div className="tool-diff-text">
              <del>{tool.before.description}</del>
              <ins>{tool.after.description}</ins>
            </div>
          )}
        </li>
      ))}
      {tools.unchanged.length > 0 && <li className="muted">unchanged: {tools.unchanged.join(", ")}</li>}
    </ul>
  );
}

function SourceChanges({ files }: { files: Comparison["files"] }) {
  return (
    <div className="source-diff" data-testid="source-diff">
      {files.map((file) => (
        <div className="diff-file" key={file.path}>
          <div className="diff-file-head">
            <code>{file.path}</code>
            <span className="muted">
              {file.status === "same" ? "unchanged" : `${file.status} · +${file.added} −${file.removed}`}
            </span>
          </div>
          {file.status !== "same" && (
            <table className="diff-lines">
              <tbody>
                {file.hunks.map((hunk, index) =>
                  hunk.kind === "skipped" ? (
                    // biome-ignore lint/suspicious/noArrayIndexKey: hunks have no identity but their place.
                    <tr key={index} className="diff-skip">
                      <td colSpan={3}>… {hunk.count} unchanged lines</td>
                    </tr>
                  ) : (
                    hunk.lines.map((line) => (
                      <tr
                        key={`${line.kind}-${"oldNumber" in line ? line.oldNumber : ""}-${"newNumber" in line ? line.newNumber : ""}`}
                        className={`diff-${line.kind}`}
                      >
                        <td className="diff-num">{"oldNumber" in line ? line.oldNumber : ""}</td>
                        <td className="diff-num">{"newNumber" in line ? line.newNumber : ""}</td>
                        <td className="diff-text">
                          <span className="diff-sign" aria-hidden="true">
                            {line.kind === "added" ? "+" : line.kind === "removed" ? "−" : " "}
                          </span>
                          <span className="visually-hidden">
                            {line.kind === "added" ? "added: " : line.kind === "removed" ? "removed: " : ""}
                          </span>
                          {line.text}
                        </td>
                      </tr>
                    ))
                  ),
                )}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </div>
  );
}

export default function Versions({ loaderData, actionData }: Route.ComponentProps) {
  const { versions, versionsProblem, deployments, comparison, comparisonProblem, firstPage } = loaderData;
  const [params] = useSearchParams();
  const items = versions.items;
  const active = items.find((version) => version.active)?.number ?? null;
  const errorOf = (intent: string) =>
    actionData && !actionData.ok && actionData.intent === intent ? actionData : undefined;
  const activationError = errorOf("deploy") ?? errorOf("rollback");
  const iterateErrors = errorOf("iterate");
  const defaultFrom = comparison?.from ?? items[1]?.number ?? items[0]?.number;
  const defaultTo = comparison?.to ?? items[0]?.number;
  return (
    <div className="tab-page">
      <section className="tab-section" aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        {versionsProblem && <ProblemMessage problem={versionsProblem} />}
        {activationError?.formError && <ProblemMessage problem={activationError.formError} />}
        {items.length === 0 && !versionsProblem ? (
          <p className="empty">No versions yet: iterate with a brief below, or push code with the CLI.</p>
        ) : (
          <table className="table" data-testid="versions">
            <TableHead columns={["Version", "Tools", "Created", "By"]} />
            <tbody>
              {items.map((version) => (
                <tr key={version.number} data-version={version.number}>
                  <td>
                    <strong>v{version.number}</strong>{" "}
                    {version.active && <span className="pill pill-live">Active</span>}
                  </td>
                  <td className="muted">{version.manifest.tools.map((tool) => tool.name).join(", ") || "none"}</td>
                  <td className="muted">{when(version.createdAt)}</td>
                  <td className="muted">{version.createdBy ?? "—"}</td>
                  <td className="row-actions">
                    {!version.active && (
                      <Form method="post">
                        <input type="hidden" name="version" value={version.number} />
                        {active !== null && version.number < active ? (
                          <Button type="submit" size="sm" name="intent" value="rollback">
                            Roll back to v{version.number}
                          </Button>
                        ) : (
                          <Button type="submit" size="sm" name="intent" value="deploy">
                            Deploy v{version.number}
                          </Button>
                        )}
                      </Form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="pager">
          {!firstPage && <Link to=".">Newest</Link>}
          {versions.next && <Link to={`?cursor=${encodeURIComponent(versions.next)}`}>Older versions →</Link>}
        </div>
      </section>

      {items.length > 0 && (
        <section className="tab-section" aria-labelledby="compare-title">
          <h2 id="compare-title">Compare</h2>
          <Form method="get" className="compare-form">
            {params.get("cursor") && <input type="hidden" name="cursor" value={params.get("cursor") ?? ""} />}
            <label>
              From{" "}
              <input className="field-input num-input" name="from" type="number" min={1} defaultValue={defaultFrom} />
            </label>
            <label>
              To <input className="field-input num-input" name="to" type="number" min={1} defaultValue={defaultTo} />
            </label>
            <Button type="submit" size="sm">
              Compare
            </Button>
          </Form>
          {comparisonProblem && <ProblemMessage problem={comparisonProblem} />}
          {comparison && (
            <div className="comparison" data-testid="comparison">
              <h3>
                Tools, v{comparison.from} → v{comparison.to}
              </h3>
              <ToolChanges tools={comparison.tools} />
              <h3>Source</h3>
              <SourceChanges files={comparison.files} />
            </div>
          )}
        </section>
      )}

      <section className="tab-section" aria-labelledby="deployments-title">
        <h2 id="deployments-title">Deployments</h2>
        {deployments.length === 0 ? (
          <p className="empty">Never deployed.</p>
        ) : (
          <ol className="deployments" data-testid="deployments">
            {deployments.map((deployment) => (
              <li key={`${deployment.createdAt}-${deployment.version}`}>
                <span className="muted">{when(deployment.createdAt)}</span>{" "}
                {deployment.kind === "rollback" ? "Rolled back to" : "Deployed"} <strong>v{deployment.version}</strong>
                {deployment.previousVersion !== null && (
                  <span className="muted"> from v{deployment.previousVersion}</span>
                )}
                <span className="muted"> · {deployment.actor}</span>
              </li>
            ))}
          </ol>
        )}
      </section>

      <section className="tab-section" aria-labelledby="iterate-title">
        <h2 id="iterate-title">Iterate with a new brief</h2>
        <p className="muted">
          Describe what to change. The model plans and writes a new version; the live one serves until it is deployed.
        </p>
        <Form method="post" className="form" noValidate>
          {iterateErrors?.formError && <ProblemMessage problem={iterateErrors.formError} />}
          <TextAreaField
            name="prompt"
            label="What should change"
            rows={4}
            defaultValue={iterateErrors?.values.prompt}
            error={iterateErrors?.fieldErrors.prompt}
          />
          <div>
            <SubmitButton name="intent" value="iterate" pendingLabel="Starting the build…">
              Start a build
            </SubmitButton>
          </div>
        </Form>
      </section>
    </div>
  );
}
