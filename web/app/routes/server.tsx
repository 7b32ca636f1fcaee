import type { ServerView } from "@isola/schema";
import { NavLink, Outlet } from "react-router";
import { StatusPill } from "../components/status-pill.tsx";
import { webContext } from "../lib/context.ts";
import { problemResponse } from "../lib/problems.ts";
import type { Route } from "./+types/server";

/** The server page's tabs, in order; each is a child route of this layout. */
export const SERVER_TABS = [
  { to: "", label: "Overview" },
  { to: "tools", label: "Tools" },
  { to: "logs", label: "Logs" },
  { to: "metrics", label: "Metrics" },
  { to: "secrets", label: "Secrets" },
  { to: "versions", label: "Versions" },
  { to: "keys", label: "API keys" },
  { to: "settings", label: "Settings" },
] as const;

export const meta: Route.MetaFunction = ({ loaderData }) => [
  { title: `${loaderData?.server.name ?? "Server"} · Isola` },
];

/** The server every tab shows (children read it with useRouteLoaderData("routes/server")). */
export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context.get(webContext).control.get<ServerView>(`/servers/${encodeURIComponent(params.slug)}`);
  if (!answer.ok) throw problemResponse(answer.problem);
  return { server: answer.data };
}

export default function ServerLayout({ loaderData }: Route.ComponentProps) {
  const { server } = loaderData;
  return (
    <>
      <div className="page-header">
        <h1>
          {server.name} <StatusPill status={server.status} />
        </h1>
        <code className="muted">{server.mcpUrl}</code>
      </div>
      <nav className="tabs" aria-label="Server">
        {SERVER_TABS.map((tab) => (
          <NavLink
            key={tab.to}
            to={tab.to === "" ? `/servers/${server.slug}` : `/servers/${server.slug}/${tab.to}`}
            end={tab.to === ""}
            className={({ isActive }) => (isActive ? "tab tab-active" : "tab")}
          >
            {tab.label}
          </NavLink>
        ))}
      </nav>
      <Outlet />
    </>
  );
}
