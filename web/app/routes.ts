import { index, layout, type RouteConfig, route } from "@react-router/dev/routes";

// URLs the web app owns. Everything under /api/v1, /oauth (but its interaction pages),
// /.well-known, /_isola and /<slug>/mcp belongs to other roles and never reaches it (web/server/plugin.ts).
export default [
  index("routes/home.tsx"),
  route("signin", "routes/signin.tsx"),
  route("signup", "routes/signup.tsx"),
  route("signout", "routes/signout.tsx"),
  // Pages behind sign-in: the layout's middleware asks control who the browser is.
  layout("routes/signed-in.tsx", [
    route("dashboard", "routes/dashboard.tsx"),
    route("secret-requests/:id", "routes/secret-request.tsx"),
    // dashboard and wizard pages
    route("servers/new", "routes/new-server.tsx"),
    route("servers/new/:buildId", "routes/new-server-build.tsx"),
    route("servers/:slug", "routes/server.tsx", [
      // server tabs: overview, tools, logs, metrics
      index("routes/server-overview.tsx"),
      route("tools", "routes/server-tools.tsx"),
      route("logs", "routes/server-logs.tsx"),
      route("metrics", "routes/server-metrics.tsx"),
      // server tabs: secrets, versions, keys, settings
      route("secrets", "routes/server-secrets.tsx"),
      route("versions", "routes/server-versions.tsx"),
      route("keys", "routes/server-keys.tsx"),
      route("settings", "routes/server-settings.tsx"),
    ]),
    // org and account pages
    route("orgs/:org", "routes/org.tsx", [
      index("routes/org-members.tsx"),
      route("invitations", "routes/org-invitations.tsx"),
      route("tokens", "routes/org-tokens.tsx"),
      route("usage", "routes/org-usage.tsx"),
      route("audit", "routes/org-audit.tsx"),
      route("model-key", "routes/org-model-key.tsx"),
    ]),
    route("account/grants", "routes/account-grants.tsx"),
  ]),
  // public account pages (password reset, invitations)
  route("forgot-password", "routes/forgot-password.tsx"),
  route("reset-password", "routes/reset-password.tsx"),
  route("invitations/:token", "routes/invitation.tsx"),
  // OAuth interaction pages
  route("oauth/interaction/:uid", "routes/oauth-interaction.tsx"),
  route("oauth/interaction/:uid/:step", "routes/oauth-interaction-step.tsx"),
  route("*", "routes/not-found.tsx"),
] satisfies RouteConfig;
