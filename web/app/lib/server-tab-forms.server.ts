import { createApiKeyBody, iterateBuildBody, secretName, setSecretBody, updateServerBody } from "@isola/schema";
import { z } from "zod";
import { expiresInDays, type FormResult } from "./forms.server.ts";

// The tabs' forms, read against the API's own request schemas (schema/src/api), so that the
// page says what control would say, before asking it.

/** Secrets: a name by the manifest's rule, and a value by the API's (never echoed back). */
export const secretForm = z.object({ name: secretName, value: setSecretBody.shape.value });

/** API keys: the create body, with the numbers a form sends as text. */
export const apiKeyForm = z.object({
  name: createApiKeyBody.shape.name,
  expiresInDays,
  rateLimitPerMinute: z.coerce.number("a whole number of calls").int().min(1).max(100_000).optional(),
});

/** Iterating: the brief, as POST /servers/{slug}/builds takes it. */
export const iterateForm = z.object({ prompt: iterateBuildBody.shape.prompt });

/** The delete form: the slug typed again. */
export const deleteForm = (slug: string) =>
  z.object({
    confirm: z.string().refine((typed) => typed.trim() === slug, `type ${slug} to confirm`),
  });

export type UpdateServerBody = z.infer<typeof updateServerBody>;

/** The settings form's fields, as the page names them. */
export const SETTINGS_FIELDS = [
  "name",
  "description",
  "authMode",
  "accessKind",
  "accessEmails",
  "allowedOrigins",
  "legacySse",
  "customDomain",
] as const;

/** Lines (or commas) of a textarea, trimmed, empty ones dropped. */
export const listOf = (text: string) =>
  text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter(Boolean);

/**
 * The settings form as a PATCH body, checked by the API's schema; an error on a list names the
 * entry it is about ("ftp://x: an origin like ...").
 */
export function parseSettings(form: FormData): FormResult<UpdateServerBody> {
  const text = (name: string) => {
    const value = form.get(name);
    return typeof value === "string" ? value : "";
  };
  const values = Object.fromEntries(SETTINGS_FIELDS.map((name) => [name, text(name)]));
  const emails = listOf(values.accessEmails ?? "");
  const origins = listOf(values.allowedOrigins ?? "");
  const kind = values.accessKind;
  const body = {
    name: values.name,
    description: values.description,
    authMode: values.authMode,
    accessPolicy: kind === "invite_list" ? { kind, emails } : { kind },
    allowedOrigins: origins,
    legacySse: values.legacySse === "on",
    customDomain: values.customDomain?.trim() ? values.customDomain.trim() : null,
  };
  const parsed = updateServerBody.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data };
  const fieldErrors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const [top, index] = issue.path;
    let name = String(top ?? "");
    let message = issue.message;
    if (name === "accessPolicy") {
      name = issue.path[1] === "emails" ? "accessEmails" : "accessKind";
      const entry = typeof issue.path[2] === "number" ? emails[issue.path[2]] : undefined;
      if (entry !== undefined) message = `${entry}: ${message}`;
    }
    if (name === "allowedOrigins" && typeof index === "number") message = `${origins[index]}: ${message}`;
    fieldErrors[name] ??= message;
  }
  return { ok: false, fieldErrors, values };
}
