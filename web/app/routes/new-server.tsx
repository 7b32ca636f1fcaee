import {
  type BuildView,
  createBuildBody,
  type ServerView,
  type TemplateDeployBody,
  type TemplateSummary,
  templateDeployBody,
} from "@isola/schema";
import { Form, Link, redirect } from "react-router";
import type { WebRequestContext } from "../../server/request-context.ts";
import { ButtonLink, SubmitButton } from "../components/button.tsx";
import { Card } from "../components/card.tsx";
import { TextAreaField, TextField } from "../components/field.tsx";
import { InstallPanel } from "../components/install-panel.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { StatusPill } from "../components/status-pill.tsx";
import { WizardSteps } from "../components/wizard-steps.tsx";
import { webContext } from "../lib/context.ts";
import { setFlash } from "../lib/flash.server.ts";
import { type FormErrors, parseForm, problemFormErrors } from "../lib/forms.server.ts";
import wizardStyles from "../styles/wizard.css?url";
import type { Route } from "./+types/new-server";

// Step 1 of the wizard: a brief for the model, or a template from the gallery (which needs no model).

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: wizardStyles }];
export const meta: Route.MetaFunction = () => [{ title: "New server · Isola" }];

/** Briefs to start from: each chip is a link (?brief=), so it fills the textarea with or without JavaScript. */
export const EXAMPLE_BRIEFS = [
  {
    label: "Weather",
    brief: "A server with weather forecasts for any city: find a city by name, then its daily forecast.",
  },
  {
    label: "GitHub issues",
    brief: "Search the issues of my GitHub repositories and summarise the open ones by label.",
  },
  { label: "Books", brief: "Look up books on Open Library by title or author, with their editions and covers." },
  { label: "Units", brief: "Convert between units of length, weight, temperature and volume." },
] as const;

const briefForm = createBuildBody.pick({ prompt: true, slug: true });
const MODEL_NOT_CONFIGURED = "urn:isola:problem:model-not-configured";

export async function loader({ request, context }: Route.LoaderArgs) {
  const control = context.get(webContext).control;
  const url = new URL(request.url);
  const deployedSlug = url.searchParams.get("deployed");
  const [templates, deployed] = await Promise.all([
    control.get<{ items: TemplateSummary[] }>("/templates"),
    deployedSlug ? control.get<ServerView>(`/servers/${encodeURIComponent(deployedSlug)}`) : null,
  ]);
  return {
    brief: url.searchParams.get("brief")?.slice(0, 20_000) ?? "",
    templates: templates.ok ? templates.data.items : [],
    templatesProblem: templates.ok ? null : templates.problem,
    deployed: deployed?.ok ? deployed.data : null,
  };
}

type ActionResult =
  | ({ intent: "brief"; modelMissing: boolean } & FormErrors)
  | ({ intent: "template"; template: string } & FormErrors);

export async function action({ request, context }: Route.ActionArgs): Promise<ActionResult> {
  const web = context.get(webContext);
  const form = await request.formData();
  if (form.get("intent") === "template") return deployTemplate(form, web);

  const parsed = parseForm(form, briefForm);
  if (!parsed.ok) return { intent: "brief", modelMissing: false, ...parsed };
  const created = await web.control.post<BuildView>("/builds", parsed.data);
  if (created.ok) throw redirect(`/servers/new/${created.data.id}`);
  const values = { prompt: parsed.data.prompt, slug: parsed.data.slug ?? "" };
  const errors = problemFormErrors(created.problem, values);
  if (created.problem.type.endsWith(":slug-taken")) {
    return { intent: "brief", modelMissing: false, fieldErrors: { slug: created.problem.detail }, values };
  }
  return { intent: "brief", modelMissing: created.problem.type === MODEL_NOT_CONFIGURED, ...errors };
}

async function deployTemplate(form: FormData, web: WebRequestContext): Promise<ActionResult> {
  const template = String(form.get("template") ?? "");
  const secrets: Record<string, string> = {};
  for (const [name, value] of form) {
    if (name.startsWith("secrets.") && typeof value === "string" && value !== "") secrets[name.slice(8)] = value;
  }
  const values = { slug: String(form.get("slug") ?? "") };
  const body: TemplateDeployBody = { slug: values.slug, ...(Object.keys(secrets).length ? { secrets } : {}) };
  const checked = templateDeployBody.safeParse(body);
  if (!checked.success) {
    const fieldErrors: Record<string, string> = {};
    for (const issue of checked.error.issues) fieldErrors[issue.path.join(".")] ??= issue.message;
    return { intent: "template", template, fieldErrors, values };
  }
  const deployed = await web.control.post<{ server: ServerView }>(
    `/templates/${encodeURIComponent(template)}/deploy`,
    checked.data,
  );
  if (deployed.ok) {
    await setFlash(web, { kind: "success", message: `${deployed.data.server.name} is live.` });
    throw redirect(`/servers/new?deployed=${encodeURIComponent(deployed.data.server.slug)}`);
  }
  const fieldNames = { slug: "", ...Object.fromEntries(Object.keys(secrets).map((name) => [`secrets.${name}`, ""])) };
  // A missing required secret is named in `errors` by its path (secrets.NAME), which has no value yet.
  for (const error of (deployed.problem.errors as { path?: string }[] | undefined) ?? []) {
    if (typeof error.path === "string") fieldNames[error.path as "slug"] = "";
  }
  const errors = problemFormErrors(deployed.problem, fieldNames);
  if (deployed.problem.type.endsWith(":slug-taken")) errors.fieldErrors.slug = deployed.problem.detail;
  return { intent: "template", template, fieldErrors: errors.fieldErrors, formError: errors.formError, values };
}

export default function NewServer({ loaderData, actionData }: Route.ComponentProps) {
  const { deployed } = loaderData;
  if (deployed) return <Deployed server={deployed} />;
  const briefErrors = actionData?.intent === "brief" ? actionData : undefined;
  return (
    <>
      <div className="page-header">
        <h1>New server</h1>
      </div>
      <WizardSteps current={1} />
      <div className="wizard-grid">
        <Card title="Describe it">
          <BriefForm brief={loaderData.brief} errors={briefErrors} />
        </Card>
        <section className="card" id="templates" aria-labelledby="templates-title">
          <h2 className="card-title" id="templates-title">
            Or start from a template
          </h2>
          <p className="muted">Ready-made servers: they deploy at once, without a model.</p>
          {loaderData.templatesProblem && <ProblemMessage problem={loaderData.templatesProblem} />}
          <ul className="template-list">
            {loaderData.templates.map((template) => (
              <TemplateCard
                key={template.id}
                template={template}
                errors={
                  actionData?.intent === "template" && actionData.template === template.id ? actionData : undefined
                }
              />
            ))}
          </ul>
        </section>
      </div>
    </>
  );
}

function BriefForm({ brief, errors }: { brief: string; errors: (FormErrors & { modelMissing: boolean }) | undefined }) {
  const promptError = errors?.fieldErrors.prompt;
  const prompt = errors?.values.prompt ?? brief;
  return (
    <Form method="post" className="form" noValidate>
      {errors?.modelMissing ? (
        <div className="problem" role="alert">
          <p className="problem-title">No language model is configured on this instance</p>
          <p>
            Building from a brief needs one: {errors.formError?.detail} Templates need no model:{" "}
            <a href="#templates">deploy one of them</a> instead.
          </p>
        </div>
      ) : (
        errors?.formError && <ProblemMessage problem={errors.formError} />
      )}
      <input type="hidden" name="intent" value="brief" />
      <nav className="chips" aria-label="Example briefs">
        {EXAMPLE_BRIEFS.map((example) => (
          <Link
            key={example.label}
            className="chip"
            to={`?brief=${encodeURIComponent(example.brief)}`}
            preventScrollReset
            replace
          >
            {example.label}
          </Link>
        ))}
      </nav>
      <TextAreaField
        // A new brief from a chip replaces what the textarea holds.
        key={prompt}
        name="prompt"
        label="What should the server do?"
        rows={7}
        defaultValue={prompt}
        placeholder="The tools it offers, the service or API it talks to, what it returns."
        // The hint gives way to the error.
        hint={promptError ? undefined : "A model plans the tools; you confirm the plan before any code is written."}
        error={promptError}
      />
      <TextField
        name="slug"
        label="Slug (optional)"
        hint="Its URL: /<slug>/mcp. Made from the plan's name when empty."
        defaultValue={errors?.values.slug}
        error={errors?.fieldErrors.slug}
        autoComplete="off"
        spellCheck={false}
      />
      <SubmitButton pendingLabel="Planning…">Plan the server</SubmitButton>
    </Form>
  );
}

function TemplateCard({ template, errors }: { template: TemplateSummary; errors: FormErrors | undefined }) {
  const id = (name: string) => `template-${template.id}-${name}`;
  const fieldError = (name: string) => errors?.fieldErrors[name];
  return (
    <li className="template">
      <div className="template-head">
        <h3>{template.name}</h3>
        <span className="muted">{template.authMode === "public" ? "public" : template.authMode}</span>
      </div>
      <p className="muted">{template.description}</p>
      {template.egress.length > 0 && (
        <p className="template-meta">
          Reaches <code>{template.egress.join(", ")}</code>
        </p>
      )}
      <details className="template-deploy" open={errors ? true : undefined}>
        <summary>Deploy {template.name}</summary>
        <Form method="post" className="form" noValidate>
          {errors?.formError && <ProblemMessage problem={errors.formError} />}
          <input type="hidden" name="intent" value="template" />
          <input type="hidden" name="template" value={template.id} />
          <TextField
            id={id("slug")}
            name="slug"
            label="Slug"
            autoComplete="off"
            spellCheck={false}
            defaultValue={errors?.values.slug ?? template.id}
            error={fieldError("slug")}
          />
          {template.secrets.map((secret) => (
            <TextField
              key={secret.name}
              id={id(secret.name)}
              name={`secrets.${secret.name}`}
              label={`${secret.name}${secret.required ? "" : " (optional)"}`}
              type="password"
              autoComplete="off"
              hint={`${secret.description} ${secret.howToGet}`}
              error={fieldError(`secrets.${secret.name}`)}
            />
          ))}
          <SubmitButton pendingLabel="Deploying…" size="sm">
            Deploy
          </SubmitButton>
        </Form>
      </details>
    </li>
  );
}

function Deployed({ server }: { server: ServerView }) {
  return (
    <>
      <div className="page-header">
        <h1>
          {server.name} is live <StatusPill status={server.status} />
        </h1>
      </div>
      <Card title="Add it to your MCP client">
        <InstallPanel slug={server.slug} url={server.mcpUrl} authMode={server.authMode} />
      </Card>
      <p className="wizard-actions">
        <ButtonLink variant="primary" to={`/servers/${server.slug}`}>
          Open {server.name}
        </ButtonLink>
        <ButtonLink to="/servers/new">New server</ButtonLink>
        <ButtonLink to="/dashboard">Dashboard</ButtonLink>
      </p>
    </>
  );
}
