import { type BuildEvent, type BuildView, buildId, confirmBuildBody } from "@isola/schema";
import { data, Form, redirect } from "react-router";
import type { ControlClient } from "../../server/control-client.ts";
import { BuildLive, useBuildProgress } from "../components/build-live.tsx";
import { Button, ButtonLink } from "../components/button.tsx";
import { PlanForm } from "../components/plan-form.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { WizardSteps } from "../components/wizard-steps.tsx";
import { webContext } from "../lib/context.ts";
import { setFlash } from "../lib/flash.server.ts";
import type { FormErrors } from "../lib/forms.server.ts";
import { problemResponse } from "../lib/problems.ts";
import wizardStyles from "../styles/wizard.css?url";
import type { Route } from "./+types/new-server-build";

// Steps 2 and 3 of the wizard, at one URL: the plan to confirm while the build waits, its
// progress live otherwise. Coming back renders the events so far; the stream resumes after them.

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: wizardStyles }];
export const meta: Route.MetaFunction = ({ loaderData }) => [
  { title: `${loaderData?.build.plan?.server.name ?? "New server"} · Isola` },
];

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const PAGE = 1000;

/** The whole history: the JSON form of the events endpoint answers up to 1000 events a page. */
async function allEvents(control: ControlClient, id: string): Promise<BuildEvent[]> {
  const events: BuildEvent[] = [];
  for (;;) {
    const after = events.at(-1)?.seq ?? 0;
    const page = await control.get<{ items: BuildEvent[] }>(`/builds/${id}/events?after=${after}`);
    if (!page.ok) throw problemResponse(page.problem);
    events.push(...page.data.items);
    if (page.data.items.length < PAGE) return events;
  }
}

export async function loader({ params, context }: Route.LoaderArgs) {
  if (!buildId.safeParse(params.buildId).success) throw data("no such build", { status: 404 });
  const control = context.get(webContext).control;
  // Events first, then the build: its status is then at least as new as the last event the page
  // has. The other way round, a "waiting" event appended between the two reads would be in the
  // history while the build still said "planning", and the stream (resumed after it) would never
  // bring the event that makes the page show the plan.
  const events = await allEvents(control, params.buildId);
  const build = await control.get<BuildView>(`/builds/${params.buildId}`);
  if (!build.ok) throw problemResponse(build.problem);
  return { build: build.data, events };
}

/** The confirmation form's fields as the API's body: answers.<id>, secrets.<NAME>, approvedEgress. */
function confirmation(form: FormData) {
  const answers: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const [name, value] of form) {
    if (typeof value !== "string" || value === "") continue;
    if (name.startsWith("answers.")) answers[name.slice(8)] = value;
    if (name.startsWith("secrets.")) secrets[name.slice(8)] = value;
  }
  const approvedEgress = form.getAll("approvedEgress").filter((host): host is string => typeof host === "string");
  return { answers, secrets, approvedEgress };
}

export async function action({ request, params, context }: Route.ActionArgs): Promise<FormErrors> {
  const web = context.get(webContext);
  const id = params.buildId;
  const here = `/servers/new/${id}`;
  const form = await request.formData();
  // The plan form's Cancel button is its second submitter: its intent comes after the hidden one.
  if (form.getAll("intent").includes("cancel")) {
    const cancelled = await web.control.post<BuildView>(`/builds/${id}/cancel`);
    if (!cancelled.ok) return { fieldErrors: {}, formError: cancelled.problem, values: {} };
    await setFlash(web, { kind: "success", message: "Build cancelled." });
    throw redirect(here);
  }

  const body = confirmation(form);
  const values = Object.fromEntries(Object.entries(body.answers).map(([key, value]) => [`answers.${key}`, value]));
  const fieldErrors: Record<string, string> = {};
  const build = await web.control.get<BuildView>(`/builds/${id}`);
  if (!build.ok) return { fieldErrors, formError: build.problem, values };
  // Required secrets are checked here too, so that the message stands next to the field.
  for (const secret of build.data.plan?.secrets ?? []) {
    if (secret.required && !body.secrets[secret.name])
      fieldErrors[`secrets.${secret.name}`] = "required: the server needs it";
  }
  const parsed = confirmBuildBody.safeParse(body);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) fieldErrors[issue.path.join(".")] ??= issue.message;
  }
  if (!parsed.success || Object.keys(fieldErrors).length > 0) {
    return {
      fieldErrors,
      formError: { title: "Some answers need a look", detail: "see the fields marked below" },
      values,
    };
  }
  const confirmed = await web.control.post<BuildView>(`/builds/${id}/confirm`, parsed.data);
  if (!confirmed.ok) return { fieldErrors, formError: confirmed.problem, values };
  await setFlash(web, { kind: "success", message: "Plan confirmed: writing the code." });
  throw redirect(here);
}

export default function BuildPage({ loaderData, actionData }: Route.ComponentProps) {
  const { build, events } = loaderData;
  const waiting = build.status === "waiting" && build.plan !== null;
  const progress = useBuildProgress(build.id, events, !waiting && !FINISHED.has(build.status));
  const planning = build.status === "queued" || build.status === "planning";
  const step = waiting || planning ? 2 : 3;
  const heading = waiting
    ? "Confirm the plan"
    : planning
      ? "Planning your server"
      : build.status === "succeeded"
        ? "Your server is live"
        : build.status === "failed"
          ? "The build failed"
          : build.status === "cancelled"
            ? "Build cancelled"
            : "Building your server";
  return (
    <>
      <div className="page-header">
        <h1>{heading}</h1>
        <p className="muted build-brief">{build.prompt}</p>
      </div>
      <WizardSteps current={step} />
      {!waiting && actionData?.formError && <ProblemMessage problem={actionData.formError} />}
      {waiting && build.plan ? (
        <PlanForm build={build} plan={build.plan} errors={actionData} />
      ) : (
        <BuildLive build={build} progress={progress} />
      )}
      {!waiting && !FINISHED.has(build.status) && (
        // Without JavaScript there is no stream: the page reloads itself while the build runs.
        <noscript>
          <meta httpEquiv="refresh" content="3" />
        </noscript>
      )}
      {!waiting && !FINISHED.has(build.status) && (
        <Form method="post" className="wizard-actions">
          <input type="hidden" name="intent" value="cancel" />
          <Button type="submit" variant="ghost">
            Cancel build
          </Button>
        </Form>
      )}
      {FINISHED.has(build.status) && (
        <p className="wizard-actions">
          {build.status === "succeeded" && build.server && (
            <ButtonLink variant="primary" to={`/servers/${build.server}`}>
              Open {build.server}
            </ButtonLink>
          )}
          <ButtonLink
            to={
              build.status === "succeeded" ? "/servers/new" : `/servers/new?brief=${encodeURIComponent(build.prompt)}`
            }
          >
            {build.status === "succeeded" ? "New server" : "Start again"}
          </ButtonLink>
          <ButtonLink to="/dashboard">Dashboard</ButtonLink>
        </p>
      )}
    </>
  );
}
