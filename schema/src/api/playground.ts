import { z } from "zod";

// The dashboard's playground calls a server's tools through its real MCP endpoint, like any
// client, with a short-lived access token the control plane mints for the signed-in user. The
// token stays on the web server: it is never sent to a browser.

/** The client every dashboard token names (`client_id`); the runtime admits it on every auth mode. */
export const DASHBOARD_CLIENT_ID = "isola-dashboard";

/** How long a dashboard token lives. */
export const DASHBOARD_TOKEN_SECONDS = 300;

export const playgroundTokenView = z.object({
  accessToken: z.string(),
  tokenType: z.literal("Bearer"),
  expiresAt: z.iso.datetime(),
  /** The MCP endpoint the token is for (its audience). */
  mcpUrl: z.url(),
  scopes: z.array(z.string()),
});

export type PlaygroundTokenView = z.infer<typeof playgroundTokenView>;
