import { z } from "zod";

// The OAuth authorization server's interactions (the steps between an MCP client's authorization
// request and its code), as the web app's sign-in and consent pages read and answer them. Each is
// named by the library's uid and belongs to the browser holding its interaction cookie; every
// answer carries the form token the read gave out.

/** The library's interaction ids (random, URL-safe). */
export const interactionUid = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an interaction id");

export const interactionParams = z.object({ uid: interactionUid });

/** Who asks, as the pages name them. */
const interactionClient = z.object({
  id: z.string(),
  /** As the client registered it (show it escaped); null when it gave none. */
  name: z.string().nullable(),
  /** Where the browser goes back to: the redirect URI's scheme and host only. */
  redirectHost: z.string(),
});

/** The server the token would be for, when the request names one that exists. */
const interactionServer = z.object({ name: z.string(), url: z.string() });

const scopeLine = z.object({
  scope: z.string(),
  /** What the scope lets the client do, in words. */
  description: z.string(),
});

/** What the interaction's page shows: the sign-in, the consent, or (nothing to ask) where to go. */
export const interactionView = z.discriminatedUnion("prompt", [
  z.object({
    prompt: z.literal("login"),
    uid: z.string(),
    /** The anti-forgery token every answer to this interaction sends back. */
    formToken: z.string(),
    client: interactionClient,
    server: interactionServer.nullable(),
  }),
  z.object({
    prompt: z.literal("consent"),
    uid: z.string(),
    formToken: z.string(),
    client: interactionClient,
    server: interactionServer,
    /** The account signed in on the authorization server. */
    user: z.object({ email: z.string() }),
    scopes: z.array(scopeLine),
  }),
  z.object({
    /** The interaction ended without asking (the server no longer admits the account): follow redirectTo. */
    prompt: z.literal("none"),
    redirectTo: z.url(),
  }),
]);

const formToken = z.string().max(200);

export const interactionLoginBody = z
  .object({
    email: z.string().trim().min(1, "enter your email").max(254),
    password: z.string().min(1, "enter your password").max(200),
    /** The interaction's form token. */
    csrf: formToken,
  })
  .strict();

export const interactionAnswerBody = z.object({ csrf: formToken }).strict();

/** Where the browser goes next: the authorization server's resume URL (below the issuer). */
export const interactionNext = z.object({ redirectTo: z.url() });

export type InteractionView = z.infer<typeof interactionView>;
export type InteractionLoginBody = z.infer<typeof interactionLoginBody>;
export type InteractionNext = z.infer<typeof interactionNext>;
