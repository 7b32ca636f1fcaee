import type { MeView } from "@isola/schema";
import { Form, Link } from "react-router";
import { ButtonLink, SubmitButton } from "../components/button.tsx";
import { ProblemMessage } from "../components/problem-message.tsx";
import { PublicTopBar } from "../components/shell.tsx";
import { webContext } from "../lib/context.ts";
import { field } from "../lib/forms.server.ts";
import { changed, refused } from "../lib/org-actions.server.ts";
import { ROLE_LABELS } from "../lib/org-roles.ts";
import orgStyles from "../styles/org.css?url";
import type { Route } from "./+types/invitation";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: orgStyles }];

export const meta: Route.MetaFunction = () => [{ title: "Invitation · Isola" }];

/** The link's token is in this page's URL: no other site may learn it from a Referer. */
export const headers: Route.HeadersFunction = () => ({ "Referrer-Policy": "no-referrer" });

/** Control's links are /invitations/<token>; /invitations/accept?token=<token> works too. */
function tokenOf(request: Request, param: string): string {
  return param === "accept" ? (new URL(request.url).searchParams.get("token") ?? "") : param;
}

/**
 * Who is looking decides what the page offers: signed in, a button that joins (a GET never does:
 * link previews and prefetchers would accept for you); else sign in or sign up, then back here.
 */
export async function loader({ request, params, context }: Route.LoaderArgs) {
  const token = tokenOf(request, params.token);
  const url = new URL(request.url);
  const here = `${url.pathname}${url.search}`;
  const me = request.headers.get("cookie") ? await context.get(webContext).control.get<MeView>("/me") : null;
  return { token, here, email: me?.ok ? me.data.user.email : null };
}

export async function action({ request, context }: Route.ActionArgs) {
  const web = context.get(webContext);
  const form = await request.formData();
  const answer = await web.control.post<{ org: string; role: keyof typeof ROLE_LABELS }>("/invitations/accept", {
    token: field(form, "token"),
  });
  if (!answer.ok) return refused(answer.problem);
  const { org, role } = answer.data;
  return changed(web, `You joined ${org} as ${ROLE_LABELS[role].toLowerCase()}.`, `/orgs/${encodeURIComponent(org)}`);
}

export default function Invitation({ loaderData, actionData }: Route.ComponentProps) {
  const { token, here, email } = loaderData;
  const next = encodeURIComponent(here);
  return (
    <>
      <PublicTopBar />
      <main id="main" className="narrow">
        <h1>You are invited to an org on Isola</h1>
        {!token ? (
          <ProblemMessage problem={{ title: "This link is incomplete", detail: "it has no invitation token" }} />
        ) : email ? (
          <>
            {actionData?.problem && <ProblemMessage problem={actionData.problem} />}
            <p className="muted">
              Signed in as <strong>{email}</strong>. The invitation must be for this address.
            </p>
            <Form method="post" className="form">
              <input type="hidden" name="token" value={token} />
              <SubmitButton pendingLabel="Joining…" block>
                Accept the invitation
              </SubmitButton>
            </Form>
            {actionData?.problem && (
              <p className="muted small" style={{ marginTop: "1rem" }}>
                Invited with another address? Sign out, then open this link again and sign in with that one.
              </p>
            )}
          </>
        ) : (
          <>
            <p className="muted">
              Sign in, or create an account with the email address the invitation was sent to; you come back here to
              accept it.
            </p>
            <div className="stack-sm">
              <ButtonLink variant="primary" block to={`/signin?next=${next}`}>
                Sign in to accept
              </ButtonLink>
              <ButtonLink block to={`/signup?next=${next}`}>
                Create an account
              </ButtonLink>
            </div>
          </>
        )}
        <p className="muted" style={{ marginTop: "1.25rem" }}>
          <Link to="/">What is Isola?</Link>
        </p>
      </main>
    </>
  );
}
