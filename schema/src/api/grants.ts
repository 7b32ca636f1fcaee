import { z } from "zod";

// OAuth grants: what a user consented to, per client. Each lets that client get access tokens
// for the listed servers (resources) with the listed scopes until it is revoked or expires.

/** The authorization server's grant ids (random, URL-safe). */
export const grantId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "a grant id");

export const grantView = z.object({
  id: z.string(),
  client: z.object({
    id: z.string(),
    /** As the client registered it (shown escaped); null when it gave none. */
    name: z.string().nullable(),
  }),
  /** Each server the client may call on your behalf, by its MCP URL, with the scopes granted. */
  resources: z.array(
    z.object({
      url: z.string(),
      /** The server's slug when it still exists, null otherwise. */
      server: z.string().nullable(),
      scopes: z.array(z.string()),
    }),
  ),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
});

export const grantList = z.object({ items: z.array(grantView) });

export type GrantView = z.infer<typeof grantView>;
