import type { ProblemDetails } from "@isola/schema";
import { data } from "react-router";
import { type FormErrors, problemFormErrors } from "./forms.server.ts";

// What the Secrets, Versions, API keys and Settings tabs share on the server side.

/** `/servers/<slug>` plus the rest, for control's API. */
export const serverApiPath = (slug: string, rest = "") => `/servers/${encodeURIComponent(slug)}${rest}`;

/** An action's answer for one form: which form, and its errors (fields or a problem in words). */
export type TabActionResult = { intent: string; ok: false } & FormErrors;

export function refused(intent: string, errors: FormErrors, status = 400) {
  return data({ intent, ok: false as const, ...errors } satisfies TabActionResult, { status });
}

/** A control problem as a form's message above it (its `errors`, when they name a field, next to it). */
export function refusedByProblem(intent: string, problem: ProblemDetails, values: Record<string, string> = {}) {
  return refused(intent, problemFormErrors(problem, values), problem.status);
}

/** A 412 from an update, in words a person can act on. */
export const STALE_EDIT = {
  title: "Someone changed this server since you opened this page",
  detail: "reload the page to see their changes, then make yours again",
};
