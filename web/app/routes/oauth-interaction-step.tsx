import { data } from "react-router";
import { InteractionScreen, InteractionTroubleOf } from "../components/oauth-interaction.tsx";
import {
  answerInteraction,
  INTERACTION_PAGE_HEADERS,
  loadInteraction,
  STEPS,
  type Step,
} from "../lib/oauth-interaction.server.ts";
import stylesheet from "../styles/oauth.css?url";
import type { Route } from "./+types/oauth-interaction-step";

// Where the sign-in and consent pages' forms post (/oauth/interaction/{uid}/login, /consent,
// /abort): each step goes to control, and the browser on to where control says; a refused step
// shows the page again with the message by its field. Read with GET, it is the page itself.

export const handle = { scripts: false };

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: stylesheet }];

export const meta: Route.MetaFunction = ({ loaderData }) => [
  { title: loaderData?.prompt === "consent" ? "Allow access · Isola" : "Sign in · Isola" },
  { name: "referrer", content: "same-origin" },
];

/** The page's headers, and Retry-After when sign-in is paused. */
export const headers: Route.HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("retry-after");
  return { ...INTERACTION_PAGE_HEADERS, ...(retryAfter ? { "retry-after": retryAfter } : {}) };
};

function stepOf(value: string): Step {
  const step = STEPS.find((candidate) => candidate === value);
  if (!step) throw data("There is no such step.", { status: 404 });
  return step;
}

export async function loader({ params, context }: Route.LoaderArgs) {
  stepOf(params.step);
  return loadInteraction(params.uid, context);
}

export async function action({ params, request, context }: Route.ActionArgs) {
  return answerInteraction(params.uid, stepOf(params.step), request, context);
}

export default function OAuthInteractionStep({ loaderData, actionData }: Route.ComponentProps) {
  return <InteractionScreen page={loaderData} errors={actionData} />;
}

export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  return <InteractionTroubleOf error={error} />;
}
