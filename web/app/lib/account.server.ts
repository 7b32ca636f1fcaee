import { loginBody, type MeView, signupBody } from "@isola/schema";
import { data, type RouterContextProvider, redirect } from "react-router";
import { webContext } from "./context.ts";
import { setFlash } from "./flash.server.ts";
import { parseForm, problemFormErrors } from "./forms.server.ts";
import { safeNext } from "./safe-next.ts";

/** Sign-in and sign-up pages send a browser that is signed in already on its way. */
export async function redirectIfSignedIn(request: Request, context: Readonly<RouterContextProvider>): Promise<void> {
  if (!request.headers.get("cookie")) return;
  const me = await context.get(webContext).control.get("/me");
  if (me.ok) throw redirect(safeNext(new URL(request.url).searchParams.get("next")));
}

const FORMS = {
  signup: { schema: signupBody, path: "/auth/signup", welcome: "Your account is ready." },
  signin: { schema: loginBody, path: "/auth/login", welcome: "Signed in." },
} as const;

/**
 * Signs up or in with the form's fields, checked first against the API's own request schema;
 * control's session cookie goes back to the browser (the plugin relays it), then on to `next`.
 */
export async function accountAction(
  kind: keyof typeof FORMS,
  request: Request,
  context: Readonly<RouterContextProvider>,
) {
  const { schema, path, welcome } = FORMS[kind];
  const web = context.get(webContext);
  const form = await request.formData();
  const parsed = parseForm(form, schema);
  if (!parsed.ok) return data(parsed, { status: 400 });
  const result = await web.control.post<MeView>(path, parsed.data);
  if (!result.ok) {
    const values = Object.fromEntries(Object.entries(parsed.data).map(([name, value]) => [name, String(value ?? "")]));
    return data({ ok: false as const, ...problemFormErrors(result.problem, values) }, { status: result.status });
  }
  await setFlash(web, { kind: "success", message: welcome });
  const next = form.get("next");
  throw redirect(safeNext(typeof next === "string" ? next : null));
}
