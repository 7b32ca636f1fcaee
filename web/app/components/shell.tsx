import type { MeView } from "@isola/schema";
import type { ReactNode } from "react";
import { Form, Link, NavLink } from "react-router";

/** The sections of the signed-in app, in the sidebar (tabs on narrow screens); "Org" is the user's first org. */
function sectionsFor(me: MeView): { to: string; label: string; end: boolean }[] {
  const org = me.orgs[0];
  return [
    { to: "/dashboard", label: "Dashboard", end: true },
    { to: "/servers/new", label: "New server", end: false },
    ...(org ? [{ to: `/orgs/${encodeURIComponent(org.slug)}`, label: "Org", end: false }] : []),
  ];
}

function Brand() {
  return (
    <Link to="/" className="topbar-brand">
      <span className="topbar-brand-mark" aria-hidden="true" />
      Isola
    </Link>
  );
}

/** The top bar of public pages (landing, sign in, sign up). */
export function PublicTopBar() {
  return (
    <header className="topbar">
      <Brand />
      <nav className="topbar-nav" aria-label="Account">
        <Link className="topbar-link" to="/signin">
          Sign in
        </Link>
        <Link className="btn btn-primary btn-sm" to="/signup">
          Sign up
        </Link>
      </nav>
    </header>
  );
}

/** Who is signed in, their orgs, and signing out: a <details>, so it opens without JavaScript. */
function UserMenu({ me }: { me: MeView }) {
  return (
    <details className="menu">
      <summary>
        <span>{me.orgs[0]?.name ?? "No org"}</span>
        <span className="muted" aria-hidden="true">
          ▾
        </span>
      </summary>
      <div className="menu-panel">
        <div className="menu-label">Signed in as</div>
        <div className="menu-item" data-testid="user-email">
          {me.user.email}
        </div>
        <hr />
        <div className="menu-label">Orgs</div>
        {me.orgs.map((org) => (
          <Link className="menu-item" key={org.slug} to={`/orgs/${encodeURIComponent(org.slug)}`}>
            {org.name} <span className="muted">· {org.role}</span>
          </Link>
        ))}
        <hr />
        <Link className="menu-item" to="/account/grants">
          Authorized apps
        </Link>
        <hr />
        <Form method="post" action="/signout">
          <button type="submit" className="menu-item">
            Sign out
          </button>
        </Form>
      </div>
    </details>
  );
}

/** The frame of every signed-in page: top bar with the user menu, sections, the page. */
export function AppShell({ me, children }: { me: MeView; children: ReactNode }) {
  return (
    <>
      <header className="topbar">
        <Brand />
        <nav className="topbar-nav" aria-label="Account">
          <UserMenu me={me} />
        </nav>
      </header>
      <div className="shell">
        <nav className="sidebar" aria-label="Sections">
          {sectionsFor(me).map((section) => (
            <NavLink key={section.to} to={section.to} className="sidebar-link" end={section.end}>
              {section.label}
            </NavLink>
          ))}
        </nav>
        <main id="main" className="page">
          {children}
        </main>
      </div>
    </>
  );
}
