import geistMono from "geist-fonts/geist-mono/GeistMono-Variable.woff2?url";
import geistSans from "geist-fonts/geist-sans/Geist-Variable.woff2?url";
import type { ReactNode } from "react";
import {
  isRouteErrorResponse,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useMatches,
  useRouteLoaderData,
} from "react-router";
import type { Route } from "./+types/root";
import { ButtonLink } from "./components/button.tsx";
import { ProblemMessage } from "./components/problem-message.tsx";
import { PublicTopBar } from "./components/shell.tsx";
import { Toast } from "./components/toast.tsx";
import { webContext } from "./lib/context.ts";
import { takeFlash } from "./lib/flash.server.ts";
import { isProblem } from "./lib/problems.ts";
import stylesheet from "./styles/app.css?url";

export const links: Route.LinksFunction = () => [
  // Preloaded, with metric-matched fallbacks (fonts.css): the text does not move when they arrive.
  { rel: "preload", href: geistSans, as: "font", type: "font/woff2", crossOrigin: "anonymous" },
  { rel: "preload", href: geistMono, as: "font", type: "font/woff2", crossOrigin: "anonymous" },
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export async function loader({ request, context }: Route.LoaderArgs) {
  return { flash: await takeFlash(request, context.get(webContext)) };
}

export function Layout({ children }: { children: ReactNode }) {
  // Absent when the page is an error (no loader ran).
  const data = useRouteLoaderData<typeof loader>("root");
  // Pages whose route says `handle = { scripts: false }` (the OAuth pages) load no JavaScript at all.
  const scripts = !useMatches().some((match) => (match.handle as { scripts?: boolean } | undefined)?.scripts === false);
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="dark" />
        <Meta />
        <Links />
      </head>
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        {children}
        <Toast flash={data?.flash ?? null} />
        {scripts && <ScrollRestoration />}
        {scripts && <Scripts />}
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

/** Every error a page meets ends here, in words: never a blank page. */
export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  let title = "Something went wrong on our side";
  let body: ReactNode = <p>The page could not be shown. Reload it, or go back; the error has been logged.</p>;
  if (isRouteErrorResponse(error) && error.status === 404) {
    title = "Page not found";
    body = <p>There is nothing at this address. Check the link, or start from the home page.</p>;
  } else if (isRouteErrorResponse(error) && isProblem(error.data)) {
    title = `Error ${error.status}`;
    body = <ProblemMessage problem={error.data} />;
  } else if (isRouteErrorResponse(error)) {
    title = `Error ${error.status}`;
    body = <p>{typeof error.data === "string" && error.data ? error.data : error.statusText}</p>;
  }
  return (
    <>
      <PublicTopBar />
      <main id="main" className="narrow">
        <h1>{title}</h1>
        {body}
        <p>
          <ButtonLink to="/">Home</ButtonLink> <ButtonLink to="/dashboard">Dashboard</ButtonLink>
        </p>
      </main>
    </>
  );
}
