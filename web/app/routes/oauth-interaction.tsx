import { InteractionScreen, InteractionTroubleOf } from "../components/oauth-interaction.tsx";
import { INTERACTION_PAGE_HEADERS, loadInteraction } from "../lib/oauth-interaction.server.ts";
import stylesheet from "../styles/oauth.css?url";
import type { Route } from "./+types/oauth-interaction";

// The page an MCP client's authorization request sends the browser to (the authorization server
// names it): sign in, then allow or deny. No script: root.tsx leaves them out for `scripts: false`.

export const handle = { scripts: false };

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: stylesheet }];

export const meta: Route.MetaFunction = ({ loaderData }) => [
  { title: loaderData?.prompt === "consent" ? "Allow access · Isola" : "Sign in · Isola" },
  { name: "referrer", content: "same-origin" },
];

export const headers: Route.HeadersFunction = () => INTERACTION_PAGE_HEADERS;

export async function loader({ params, context }: Route.LoaderArgs) {
  return loadInteraction(params.uid, context);
}

export default function OAuthInteraction({ loaderData }: Route.ComponentProps) {
  return <InteractionScreen page={loaderData} />;
}

export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  return <InteractionTroubleOf error={error} />;
}
