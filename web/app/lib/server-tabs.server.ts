import type { ProblemDetails } from "@isola/schema";
import { data } from "react-router";
import type { FormErrors } from "./forms.server.ts";

// What the Secrets, Versions, API keys and Settings tabs share on the server side.

/** `/servers/<slug>` plus the rest, for control's API. */
export const serverApiPath = (slug: string, rest = "") => `/servers/${encodeURIComponent(slug)}${rest}`;

/** The If-Match an update sends: the ETag control gives for a revision (docs/API.md, ETags). */
export const ifMatch = (revision: number | string) => ({ "if-match": `"r${revision}"` });

/** Which of a tab's forms was sent (its submit button's `intent`). */
export function intentOf(form: FormData): string {
  const intent = form.get("intent");
  return typeof intent === "string" ? intent : "";
}

/** A string field of a form, "" when absent. */
export function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/** An action's answer for one form: which form, and its errors (fields or a problem in words). */
export type TabActionResult = { intent: string; ok: false } & FormErrors;

export function refused(intent: string, errors: FormErrors, status = 400) {
  return data({ intent, ok: false as const, ...errors } satisfies TabActionResult, { status });
}

/** A control problem as a form's message above it (its `errors`, when they name a field, next to it). */
export function refusedByProblem(intent: string, problem: ProblemDetails, values: Record<string, string> = {}) {
  const fieldErrors: Record<string, string> = {};
  const listed = Array.isArray(problem.errors) ? (problem.errors as { path?: unknown; message?: unknown }[]) : [];
  for (const error of listed) {
    if (typeof error.path !== "string" || typeof error.message !== "string") continue;
    // "allowedOrigins.2" belongs to the allowedOrigins field.
    const name = error.path.split(".")[0] as string;
    if (name in values) fieldErrors[name] ??= error.message;
  }
  const errors: FormErrors =
    Object.keys(fieldErrors).length > 0
      ? { fieldErrors, values }
      : { fieldErrors, formError: { title: problem.title, detail: problem.detail }, values };
  return refused(intent, errors, problem.status);
}

/** A 412 from an update, in words a person can act on. */
export const STALE_EDIT = {
  title: "Someone changed this server since you opened this page",
  detail: "reload the page to see their changes, then make yours again",
};
