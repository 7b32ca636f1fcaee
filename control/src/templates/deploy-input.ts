import type { TemplateDeployBody, TemplateManifest } from "@isola/schema";

/** One field of a deploy that does not fit its template, as invalid-request lists fields. */
export interface DeployInputIssue {
  in: "body";
  path: string;
  message: string;
}

/**
 * What the body's secrets and settings lack or have too many of, for this template: every
 * required secret given, no secret or setting the template does not declare. Pure.
 */
export function deployInputIssues(
  manifest: TemplateManifest,
  body: Pick<TemplateDeployBody, "secrets" | "config">,
): DeployInputIssue[] {
  const issues: DeployInputIssue[] = [];
  const given = body.secrets ?? {};
  const declared = new Set(manifest.secrets.map((secret) => secret.name));
  for (const secret of manifest.secrets) {
    if (secret.required && !(secret.name in given)) {
      issues.push({
        in: "body",
        path: `secrets.${secret.name}`,
        message: `the secret ${secret.name} is required (${secret.description}); to get one: ${secret.howToGet}`,
      });
    }
  }
  const list = (names: string[]) => (names.length ? names.join(", ") : "none");
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) {
      issues.push({
        in: "body",
        path: `secrets.${name}`,
        message: `the ${manifest.id} template reads no secret ${name} (it reads: ${list([...declared])})`,
      });
    }
  }
  const settings = new Set(manifest.settings.map((setting) => setting.name));
  for (const name of Object.keys(body.config ?? {})) {
    if (!settings.has(name)) {
      issues.push({
        in: "body",
        path: `config.${name}`,
        message: `the ${manifest.id} template has no setting ${name} (its settings: ${list([...settings])})`,
      });
    }
  }
  return issues;
}
