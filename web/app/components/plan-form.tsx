import type { BuildView } from "@isola/schema";
import { Form } from "react-router";
import type { FormErrors } from "../lib/forms.server.ts";
import { Button, SubmitButton } from "./button.tsx";
import { Card } from "./card.tsx";
import { TextField } from "./field.tsx";
import { ProblemMessage } from "./problem-message.tsx";

type Plan = NonNullable<BuildView["plan"]>;

const AUTH_WORDS: Record<BuildView["authMode"], string> = {
  oauth: "OAuth: MCP clients sign users in with their Isola account",
  api_key: "API key: clients send one of the server's keys",
  public: "Public: anyone with the URL may call it",
};

/** Step 2: what the model proposes, and what the user answers, gives and approves before code is written. */
export function PlanForm({ build, plan, errors }: { build: BuildView; plan: Plan; errors: FormErrors | undefined }) {
  const scopes = [...new Set(plan.tools.flatMap((tool) => tool.scopes ?? []))];
  const error = (name: string) => errors?.fieldErrors[name];
  return (
    <Form method="post" className="plan" noValidate>
      <input type="hidden" name="intent" value="confirm" />
      {errors?.formError && <ProblemMessage problem={errors.formError} />}
      <Card title={plan.server.name}>
        <p>{plan.summary}</p>
        <dl className="plan-facts">
          <dt>Auth</dt>
          <dd>{AUTH_WORDS[build.authMode]}</dd>
          <dt>Scopes</dt>
          <dd>{scopes.length ? scopes.map((scope) => <code key={scope}>{scope} </code>) : "none beyond access"}</dd>
        </dl>
      </Card>

      <Card title={`Tools (${plan.tools.length})`}>
        <table className="table plan-tools">
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">What it does</th>
              <th scope="col">Inputs</th>
            </tr>
          </thead>
          <tbody>
            {plan.tools.map((tool) => (
              <tr key={tool.name}>
                <td>
                  <code>{tool.name}</code>
                </td>
                <td>{tool.description}</td>
                <td>
                  {tool.params.length === 0 && <span className="muted">none</span>}
                  <ul className="plan-params">
                    {tool.params.map((param) => (
                      <li key={param.name}>
                        <code>{param.name}</code> <span className="muted">{param.type}</span>
                        {param.required ? "" : <span className="muted"> (optional)</span>}
                        {param.description && <span className="muted"> · {param.description}</span>}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>

      {plan.questions.length > 0 && (
        <Card title="Questions">
          {plan.questions.map((question) => {
            const name = `answers.${question.id}`;
            return (
              <TextField
                key={question.id}
                id={`field-answer-${question.id}`}
                name={name}
                label={question.question}
                defaultValue={errors?.values[name]}
                hint={question.assumption && `Left empty: ${question.assumption}`}
              />
            );
          })}
        </Card>
      )}

      {plan.secrets.length > 0 && (
        <Card title="Secrets">
          <p className="muted">Stored encrypted on the server; the code reads them, nobody sees them again.</p>
          {plan.secrets.map((secret) => (
            <TextField
              key={secret.name}
              id={`field-secret-${secret.name}`}
              name={`secrets.${secret.name}`}
              label={`${secret.name}${secret.required ? "" : " (optional)"}`}
              type="password"
              autoComplete="off"
              hint={`${secret.description} ${secret.howToGet}`}
              error={error(`secrets.${secret.name}`)}
            />
          ))}
        </Card>
      )}

      <Card title="Hosts it will reach">
        {plan.egress.length === 0 ? (
          <p className="muted">None: the code reaches no other host.</p>
        ) : (
          <fieldset className="plan-egress" aria-describedby="egress-hint">
            <legend className="visually-hidden">Approve hosts</legend>
            <p className="field-hint" id="egress-hint">
              The code may reach only the hosts you approve; a build whose code needs another fails its check.
            </p>
            {plan.egress.map((host) => (
              <label key={host} className="checkbox">
                <input type="checkbox" name="approvedEgress" value={host} /> <code>{host}</code>
              </label>
            ))}
            {error("approvedEgress") && <span className="field-error">{error("approvedEgress")}</span>}
          </fieldset>
        )}
      </Card>

      <div className="wizard-actions">
        <SubmitButton pendingLabel="Confirming…">Confirm and build</SubmitButton>
        <Button type="submit" variant="ghost" name="intent" value="cancel" formNoValidate>
          Cancel build
        </Button>
      </div>
    </Form>
  );
}
