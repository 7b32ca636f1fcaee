import type { OrgView } from "@isola/schema";
import { NavLink, Outlet } from "react-router";
import { webContext } from "../lib/context.ts";
import { mayManageMembers, mayReadAudit, ROLE_LABELS } from "../lib/org-roles.ts";
import { problemResponse } from "../lib/problems.ts";
import orgStyles from "../styles/org.css?url";
import type { Route } from "./+types/org";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: orgStyles }];

export const meta: Route.MetaFunction = ({ loaderData }) => [{ title: `${loaderData?.org.name ?? "Org"} · Isola` }];

/** The org every tab shows (tabs read it with useRouteLoaderData("routes/org")). */
export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context.get(webContext).control.get<OrgView>(`/orgs/${encodeURIComponent(params.org)}`);
  if (!answer.ok) throw problemResponse(answer.problem);
  return { org: answer.data };
}

/** The tabs this user's role can open (the others would only answer 403). */
function tabsFor(org: OrgView) {
  return [
    { to: "", label: "Members", shown: true },
    { to: "invitations", label: "Invitations", shown: mayManageMembers(org.role) },
    { to: "tokens", label: "Access tokens", shown: true },
    { to: "usage", label: "Plan and usage", shown: true },
    { to: "audit", label: "Audit log", shown: mayReadAudit(org.role) },
    { to: "model-key", label: "Model key", shown: true },
  ].filter((tab) => tab.shown);
}

export default function OrgLayout({ loaderData }: Route.ComponentProps) {
  const { org } = loaderData;
  const base = `/orgs/${encodeURIComponent(org.slug)}`;
  return (
    <>
      <div className="page-header">
        <h1>{org.name}</h1>
        <span className="muted">
          <code>{org.slug}</code> · you are {ROLE_LABELS[org.role].toLowerCase()} · {org.plan.name} plan
        </span>
      </div>
      <nav className="tabs" aria-label="Org">
        {tabsFor(org).map((tab) => (
          <NavLink
            key={tab.to}
            to={tab.to === "" ? base : `${base}/${tab.to}`}
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
