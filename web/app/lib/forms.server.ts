import type { ProblemDetails } from "@isola/schema";
import { z } from "zod";

/** What a form action returns when it refuses: an error per field, and one for the form. */
export interface FormErrors {
  fieldErrors: Record<string, string>;
  formError?: Pick<ProblemDetails, "title" | "detail">;
  /** What the user typed, to fill the form again (never a password). */
  values: Record<string, string>;
}

export type FormResult<T> = { ok: true; data: T } | ({ ok: false } & FormErrors);

const SECRET_FIELD = /password|secret|token/i;

function echo(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([name]) => !SECRET_FIELD.test(name)));
}

/**
 * Reads a form against one of the API's request schemas (schema/src/api): only the schema's
 * fields, an empty optional field as absent, the first message per field.
 */
export function parseForm<S extends z.ZodObject>(form: FormData, schema: S): FormResult<z.infer<S>> {
  const values: Record<string, string> = {};
  const input: Record<string, string | undefined> = {};
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const raw = form.get(name);
    const value = typeof raw === "string" ? raw : "";
    values[name] = value;
    input[name] = value === "" && field.safeParse(undefined).success ? undefined : value;
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, data: parsed.data };
  const fieldErrors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const name = issue.path.join(".");
    fieldErrors[name] ??= issue.message;
  }
  return { ok: false, fieldErrors, values: echo(values) };
}

/**
 * A control problem as form errors: its `errors` (validation) next to their fields ("allowedOrigins.2"
 * belongs to the allowedOrigins field), the rest above the form.
 */
export function problemFormErrors(problem: ProblemDetails, values: Record<string, string>): FormErrors {
  const fieldErrors: Record<string, string> = {};
  const listed = Array.isArray(problem.errors) ? (problem.errors as { path?: unknown; message?: unknown }[]) : [];
  for (const error of listed) {
    if (typeof error.path !== "string" || typeof error.message !== "string") continue;
    const name = error.path in values ? error.path : (error.path.split(".")[0] as string);
    if (name in values) fieldErrors[name] ??= error.message;
  }
  const formError = Object.keys(fieldErrors).length > 0 ? undefined : { title: problem.title, detail: problem.detail };
  return { fieldErrors, ...(formError ? { formError } : {}), values: echo(values) };
}

/** A form field as text ("" when absent or a file). */
export function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/** A lifetime in days as a form sends it (text): empty is "never expires". */
export const expiresInDays = z.coerce
  .number({ error: "a whole number of days" })
  .int("a whole number of days")
  .min(1, "at least 1 day")
  .max(3650, "at most 3650 days")
  .optional();
