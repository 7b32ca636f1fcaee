import { index, layout, type RouteConfig, route } from "@react-router/dev/routes";

// URLs the web app owns. Everything under /api/v1, /oauth, /.well-known, /_isola and /<slug>/mcp
// belongs to other roles and never reaches it (web/server/plugin.ts).
export default [
  index("routes/home.tsx"),
  route("signin", "routes/signin.tsx"),
  route("signup", "routes/signup.tsx"),
  route("signout", "routes/signout.tsx"),
  // Pages behind sign-in: the layout's middleware asks control who the browser is.
  layout("routes/signed-in.tsx", [
    route("dashboard", "routes/dashboard.tsx"),
    // dashboard and wizard pages
    route("servers/:slug", "routes/server.tsx", [
      // server tabs: overview, tools, logs, metrics
      // server tabs: secrets, versions, keys, settings
    ]),
    // org and account pages
  ]),
  // public account pages (password reset, invitations)
  // OAuth interaction pages
  route("*", "routes/not-found.tsx"),
] satisfies RouteConfig;
