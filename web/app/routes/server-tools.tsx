import type { ManifestTool, ServerView, VersionView } from "@isola/schema";
import { Form, useNavigation } from "react-router";
import { Card } from "../components/card.tsx";
import { CodeBlock } from "../components/code-block.tsx";
import { FieldNotes, fieldAria } from "../components/field.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { webContext } from "../lib/context.ts";
import { callTool, type ToolAnswer } from "../lib/playground.server.ts";
import { problemResponse } from "../lib/problems.ts";
import { type FormField, formFields, toolArguments } from "../lib/schema-form.ts";
import serverPageStyles from "../styles/server-pages.css?url";
import type { Route } from "./+types/server-tools";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: serverPageStyles }];

type ControlOf = Route.LoaderArgs["context"];

/** The active version's tools (none when nothing is deployed). */
async function activeTools(
  context: ControlOf,
  slug: string,
): Promise<{ version: number | null; tools: ManifestTool[] }> {
  const control = context.get(webContext).control;
  const server = await control.get<ServerView>(`/servers/${encodeURIComponent(slug)}`);
  if (!server.ok) throw problemResponse(server.problem);
  if (server.data.activeVersion === null) return { version: null, tools: [] };
  const version = await control.get<VersionView>(
    `/servers/${encodeURIComponent(slug)}/versions/${server.data.activeVersion}`,
  );
  if (!version.ok) throw problemResponse(version.problem);
  return { version: version.data.number, tools: version.data.manifest.tools };
}

export async function loader({ params, context }: Route.LoaderArgs) {
  return activeTools(context, params.slug);
}

/** Calls one tool through the server's real MCP endpoint (playground.server.ts). */
export async function action({ params, request, context }: Route.ActionArgs) {
  const form = await request.formData();
  const name = String(form.get("tool") ?? "");
  const values = Object.fromEntries(
    [...form].flatMap(([key, value]) => (typeof value === "string" ? [[key, value]] : [])),
  );
  const { tools } = await activeTools(context, params.slug);
  const tool = tools.find((candidate) => candidate.name === name);
  if (!tool)
    return {
      tool: name,
      values,
      fieldErrors: {} as Record<string, string>,
      problem: { title: "No such tool", detail: `the active version has no tool ${name}` },
    };
  const args = toolArguments(tool.inputSchema, values);
  if (!args.ok) return { tool: name, values, fieldErrors: args.fieldErrors };
  const outcome = await callTool(context.get(webContext).control, params.slug, name, args.arguments);
  return outcome.ok
    ? { tool: name, values, fieldErrors: {} as Record<string, string>, answer: outcome.answer, sent: args.arguments }
    : { tool: name, values, fieldErrors: {} as Record<string, string>, problem: outcome.problem };
}

function InputField({ field, value, error }: { field: FormField; value: string; error: string | undefined }) {
  const id = `field-${field.name}`;
  const common = { id, name: field.name, ...fieldAria(id, field.description, error) };
  let control: React.ReactNode;
  if (field.kind === "boolean" || field.kind === "enum") {
    const options = field.kind === "boolean" ? ["true", "false"] : (field.options ?? []);
    control = (
      <select {...common} className="field-select" defaultValue={value}>
        <option value="">{field.required ? "Choose…" : "(unset)"}</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === "list" || field.kind === "json") {
    control = (
      <textarea
        {...common}
        className="field-textarea"
        defaultValue={value}
        placeholder={field.kind === "list" ? "one per line, or comma-separated" : "JSON"}
      />
    );
  } else {
    control = (
      <input
        {...common}
        className="field-input"
        type="text"
        inputMode={field.kind === "integer" ? "numeric" : field.kind === "number" ? "decimal" : undefined}
        defaultValue={value}
      />
    );
  }
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {field.label}
        {field.required && (
          <>
            <span className="required-mark" aria-hidden="true">
              {" "}
              *
            </span>
            <span className="visually-hidden"> (required)</span>
          </>
        )}{" "}
        <span className="muted">{field.kind === "list" ? `list of ${field.itemKind}` : field.kind}</span>
      </label>
      {control}
      <FieldNotes id={id} hint={field.description} error={error} />
    </div>
  );
}

function Answer({ answer }: { answer: ToolAnswer }) {
  return (
    <div className={answer.isError ? "result result-error" : "result"} aria-live="polite">
      <h4>{answer.isError ? "The tool answered with an error" : "Result"}</h4>
      {answer.content.map((block, i) => {
        const text =
          (block as { type?: string; text?: string }).type === "text" ? (block as { text: string }).text : null;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: content blocks have no identity but their order.
          <CodeBlock key={i} code={text ?? JSON.stringify(block, null, 2)} label={`Content ${i + 1}`} />
        );
      })}
      {answer.structuredContent !== undefined && (
        <CodeBlock code={JSON.stringify(answer.structuredContent, null, 2)} label="structuredContent" />
      )}
    </div>
  );
}

export default function ServerTools({ loaderData, actionData }: Route.ComponentProps) {
  const { tools, version } = loaderData;
  const navigation = useNavigation();
  const busy = navigation.state === "submitting" ? String(navigation.formData?.get("tool") ?? "") : null;
  if (version === null)
    return <p className="muted">Nothing is deployed yet: the tools appear with the first version.</p>;
  return (
    <div className="server-page tools-page">
      <p className="muted">
        Version v{version}: {tools.length} tool{tools.length === 1 ? "" : "s"}. The playground calls the server's real
        endpoint as you: calls show in Logs and Metrics.
      </p>
      <ul className="tool-list">
        {tools.map((tool) => {
          const fields = formFields(tool.inputSchema);
          const mine = actionData?.tool === tool.name ? actionData : undefined;
          return (
            <li key={tool.name} id={`tool-${tool.name}`}>
              <Card title={<code>{tool.name}</code>}>
                {tool.title && <p>{tool.title}</p>}
                <p>{tool.description}</p>
                <div className="tool-meta">
                  {Object.entries(tool.annotations ?? {}).map(([hint, on]) =>
                    on === true ? (
                      <span key={hint} className="tag">
                        {hint.replace(/Hint$/, "")}
                      </span>
                    ) : null,
                  )}
                  {(tool.scopes ?? []).map((scope) => (
                    <span key={scope} className="tag">
                      scope {scope}
                    </span>
                  ))}
                </div>
                <details>
                  <summary>Input schema</summary>
                  <CodeBlock code={JSON.stringify(tool.inputSchema, null, 2)} label={`${tool.name} input schema`} />
                </details>
                <Form method="post" className="form playground" aria-label={`Call ${tool.name}`}>
                  <input type="hidden" name="tool" value={tool.name} />
                  {fields.length === 0 && <p className="muted">This tool takes no input.</p>}
                  {fields.map((field) => (
                    <InputField
                      key={field.name}
                      field={field}
                      value={mine?.values[field.name] ?? ""}
                      error={mine?.fieldErrors[field.name]}
                    />
                  ))}
                  <button type="submit" className="btn btn-primary btn-sm" disabled={busy === tool.name}>
                    {busy === tool.name ? "Calling…" : `Call ${tool.name}`}
                  </button>
                </Form>
                {mine && "problem" in mine && mine.problem && <ProblemMessage problem={mine.problem} />}
                {mine && "answer" in mine && mine.answer && <Answer answer={mine.answer} />}
              </Card>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
