import type { InteractionView } from "@isola/schema";
import type { ReactNode } from "react";
import { isRouteErrorResponse } from "react-router";
import type { StepErrors } from "../lib/oauth-interaction.server.ts";
import { isProblem } from "../lib/problems.ts";
import { TextField } from "./field.tsx";
import { ProblemMessage } from "./problem-message.tsx";

// The OAuth sign-in and consent pages: what an MCP client asks, in words, and plain HTML forms
// (they work, and are served, without any script). Every value a client registered is text,
// escaped by React. Texts are whole strings where they sit next to each other: the page reads
// the same to a person and to a test reading the HTML.

type Page = Exclude<InteractionView, { prompt: "none" }>;

const action = (uid: string, step: "login" | "consent" | "abort") =>
  `/oauth/interaction/${encodeURIComponent(uid)}/${step}`;

function Frame({ children }: { children: ReactNode }) {
  return (
    <div className="oauth">
      <header className="oauth-brand">
        <span className="topbar-brand-mark" aria-hidden="true" />
        Isola
      </header>
      <main id="main" className="oauth-card">
        {children}
      </main>
    </div>
  );
}

function ClientName({ client }: { client: Page["client"] }) {
  return client.name ? (
    <strong>{client.name}</strong>
  ) : (
    <>
      {"an application ("}
      <code>{client.id}</code>
      {")"}
    </>
  );
}

/** The form token, which every step sends back. */
const Token = ({ value }: { value: string }) => <input type="hidden" name="csrf" value={value} />;

function SignIn({ page, errors }: { page: Extract<Page, { prompt: "login" }>; errors: StepErrors | undefined }) {
  return (
    <>
      <h1>Sign in to Isola</h1>
      <p className="oauth-purpose">
        <ClientName client={page.client} />
        {page.server ? " asks to use " : " asks to act on your behalf."}
        {page.server && <strong>{page.server.name}</strong>}
        {page.server && " on your behalf."}
      </p>
      {/* noValidate: the messages are the server's, the same in every browser. */}
      <form method="post" action={action(page.uid, "login")} className="form" noValidate>
        {errors?.formError && <ProblemMessage problem={errors.formError} />}
        <Token value={page.formToken} />
        <TextField
          name="email"
          label="Email"
          type="email"
          autoComplete="username"
          required
          maxLength={254}
          defaultValue={errors?.values.email}
          error={errors?.fieldErrors.email}
        />
        <TextField
          name="password"
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          maxLength={200}
          error={errors?.fieldErrors.password}
        />
        <button className="btn btn-primary btn-block" type="submit">
          Sign in
        </button>
      </form>
      <form method="post" action={action(page.uid, "abort")} className="oauth-cancel">
        <Token value={page.formToken} />
        <span className="muted">Not expecting this?</span>
        <button className="btn btn-ghost btn-sm" type="submit">
          Cancel
        </button>
      </form>
    </>
  );
}

function Consent({ page, errors }: { page: Extract<Page, { prompt: "consent" }>; errors: StepErrors | undefined }) {
  return (
    <>
      <h1>{`Allow ${page.client.name ?? "this application"} to use ${page.server.name}?`}</h1>
      {errors?.formError && <ProblemMessage problem={errors.formError} />}
      <dl className="oauth-facts">
        <dt>Server</dt>
        <dd>
          <strong>{page.server.name}</strong>
          <code>{page.server.url}</code>
        </dd>
        <dt>Application</dt>
        <dd>
          <ClientName client={page.client} />
          <span className="muted">
            {"client id "}
            <code>{page.client.id}</code>
          </span>
        </dd>
        <dt>Sends you back to</dt>
        <dd>
          <code>{page.client.redirectHost}</code>
        </dd>
        <dt>It will be able to</dt>
        <dd>
          <ul className="oauth-scopes">
            {page.scopes.map((line) => (
              <li key={line.scope}>
                <code>{line.scope}</code>
                {`: ${line.description}`}
              </li>
            ))}
          </ul>
        </dd>
        <dt>As</dt>
        <dd>
          <span>{page.user.email}</span>
        </dd>
      </dl>
      <p className="muted">Only allow applications you trust. You can revoke this later in your account's grants.</p>
      <div className="oauth-choices">
        <form method="post" action={action(page.uid, "consent")}>
          <Token value={page.formToken} />
          <button className="btn btn-primary" type="submit">
            Allow
          </button>
        </form>
        <form method="post" action={action(page.uid, "abort")}>
          <Token value={page.formToken} />
          <button className="btn btn-secondary" type="submit">
            Deny
          </button>
        </form>
      </div>
    </>
  );
}

/** The sign-in or the consent page of an interaction, with a refused step's messages. */
export function InteractionScreen({ page, errors }: { page: Page; errors?: StepErrors | undefined }) {
  return (
    <Frame>
      {page.prompt === "login" ? <SignIn page={page} errors={errors} /> : <Consent page={page} errors={errors} />}
    </Frame>
  );
}

/** A sign-in that cannot go on (unknown, expired, control down), in words: never a blank page. */
function InteractionTrouble({ title, text }: { title: string; text: string }) {
  return (
    <Frame>
      <h1>{title}</h1>
      <p>{text}</p>
      <p className="muted">You can close this page.</p>
    </Frame>
  );
}

const GONE = {
  title: "This sign-in has expired",
  text: "It timed out, was finished already, or was started in another browser. Go back to the application and connect again.",
};

/** The error a loader or action threw, as the page says it. */
export function InteractionTroubleOf({ error }: { error: unknown }) {
  if (isRouteErrorResponse(error) && (error.status === 404 || error.status === 410)) {
    return <InteractionTrouble {...GONE} />;
  }
  if (isRouteErrorResponse(error) && isProblem(error.data) && error.status < 500) {
    return <InteractionTrouble title={error.data.title} text={error.data.detail} />;
  }
  if (isRouteErrorResponse(error) && isProblem(error.data) && error.status === 503) {
    return <InteractionTrouble title="Isola is not answering" text="Wait a moment, then reload this page." />;
  }
  return (
    <InteractionTrouble
      title="Something went wrong on our side"
      text="The error has been logged. Go back to the application and try again."
    />
  );
}
