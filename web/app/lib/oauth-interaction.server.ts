import {
  type InteractionNext,
  type InteractionView,
  interactionAnswerBody,
  interactionLoginBody,
  type ProblemDetails,
} from "@isola/schema";
import { data, type RouterContextProvider, redirect } from "react-router";
import { webContext } from "./context.ts";
import { type FormErrors, parseForm } from "./forms.server.ts";

// The OAuth sign-in and consent pages' talk with control (/api/v1/oauth/interactions): the
// browser's cookies (its interaction cookie among them) go along with every call, and each step
// ends in a redirect to where control says, the authorization server's resume URL.

export type InteractionPage = Exclude<InteractionView, { prompt: "none" }>;

export const STEPS = ["login", "consent", "abort"] as const;
export type Step = (typeof STEPS)[number];

/** Headers of every interaction page: nothing but our own styles and fonts, never framed or cached. */
export const INTERACTION_PAGE_HEADERS = {
  "cache-control": "no-store",
  "content-security-policy":
    // No form-action: browsers apply it to the redirects after a post too, and the last one goes
    // to the client's redirect URI, on any host. The form token and Origin check guard the posts.
    "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the page's
  // own form posts, which the web's cross-site check must refuse (commit 8defc67); the client's
  // redirect URI (another origin) still gets no referrer.
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
};

const path = (uid: string, step?: Step) => `/oauth/interactions/${encodeURIComponent(uid)}${step ? `/${step}` : ""}`;

/** The page's content; a problem (unknown, expired interaction) is thrown for the error boundary. */
export async function loadInteraction(uid: string, context: Readonly<RouterContextProvider>): Promise<InteractionPage> {
  const result = await context.get(webContext).control.get<InteractionView>(path(uid));
  if (!result.ok) throw data(result.problem, { status: result.status });
  // Nothing to ask (the server no longer admits the account): on to the client with its error.
  if (result.data.prompt === "none") throw redirect(result.data.redirectTo, 303);
  return result.data;
}

/** What a refused step shows on the page again: a message by its field, or above the form. */
export interface StepErrors extends FormErrors {
  /** Seconds until sign-in may be tried again (429). */
  retryAfter?: number;
}

const EXPIRED_FORM: StepErrors = {
  fieldErrors: {},
  formError: { title: "This form has expired", detail: "Reload the page and try again." },
  values: {},
};

/** The message a person reads for each problem control answers a step with. */
function stepErrors(problem: ProblemDetails, values: Record<string, string>, retryAfter: string | null): StepErrors {
  if (problem.status === 401) return { fieldErrors: { password: "Email or password is wrong." }, values };
  if (problem.status === 429) {
    const seconds = Number(retryAfter) || 30;
    return {
      fieldErrors: {},
      formError: {
        title: "Too many sign-in attempts",
        detail: `Wait ${seconds} seconds and try again.`,
      },
      values,
      retryAfter: seconds,
    };
  }
  if (problem.status === 403) return { ...EXPIRED_FORM, values };
  return { fieldErrors: {}, formError: { title: problem.title, detail: problem.detail }, values };
}

/**
 * Sends a step's form to control: the browser goes on to the resume URL control answers with, or
 * the page shows again with the refusal (the email kept, never the password).
 */
export async function answerInteraction(
  uid: string,
  step: Step,
  request: Request,
  context: Readonly<RouterContextProvider>,
) {
  const form = await request.formData();
  const parsed = step === "login" ? parseForm(form, interactionLoginBody) : parseForm(form, interactionAnswerBody);
  if (!parsed.ok) {
    // A missing form token is an expired form, not a field to fix.
    const { csrf: _token, ...fieldErrors } = parsed.fieldErrors;
    if (Object.keys(fieldErrors).length === 0) return data(EXPIRED_FORM, { status: 403 });
    return data({ fieldErrors, values: { email: parsed.values.email ?? "" } } satisfies StepErrors, { status: 400 });
  }
  const result = await context.get(webContext).control.post<InteractionNext>(path(uid, step), parsed.data);
  if (result.ok) throw redirect(result.data.redirectTo, 303);
  // The sign-in is gone (expired, another browser's): the error boundary says so.
  if (result.status === 404 || result.status === 410) throw data(result.problem, { status: result.status });
  const values: Record<string, string> = "email" in parsed.data ? { email: String(parsed.data.email) } : {};
  const headers: Record<string, string> = {};
  const retryAfter = result.headers.get("retry-after");
  if (retryAfter) headers["retry-after"] = retryAfter;
  return data(stepErrors(result.problem, values, retryAfter), { status: result.status, headers });
}
