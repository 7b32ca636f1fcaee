import { BASE_SCOPE, type Bus, type Database, type InteractionView } from "@isola/schema";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { errors, type InteractionResults } from "oidc-provider";
import { checkPassword, takeSignInAttempt } from "../accounts/sign-in.ts";
import { Problem, problem } from "../http/problems.ts";
import { userMayUse } from "./access-policy.ts";
import type { AuthorizationServer } from "./authorization-server.ts";
import { checkFormToken, formToken } from "./derived-keys.ts";
import { interactionPath } from "./provider.ts";
import { type ResourceServerRecord, type ResourceUrlOptions, resolveResource } from "./resources.ts";

// The steps between an MCP client's authorization request and its code: sign in with the control
// plane's account, then consent. Each belongs to one interaction (the library's short-lived
// record, named by the uid in the URL and by the interaction cookie the browser holds); every
// answer carries a form token bound to that uid; every step ends at the library's own resume
// URL, never at a URL from the request. The web app shows the pages (its /oauth/interaction/*);
// this is what they read and send, through /api/v1/oauth/interactions (interaction-routes.ts).

export interface InteractionDeps {
  server: AuthorizationServer;
  db: Kysely<Database>;
  bus: Bus;
  formKey: Buffer;
  issuer: string;
  urls: ResourceUrlOptions;
  /** Sets the X-Forwarded-* headers from PUBLIC_URL, as for every request the provider sees. */
  asPublic(request: FastifyRequest): void;
}

type Details = Awaited<ReturnType<AuthorizationServer["provider"]["interactionDetails"]>>;

/** Where the client sends the user back, as the consent page names it (scheme and host only). */
export function redirectHost(redirectUri: unknown): string {
  const url = typeof redirectUri === "string" ? URL.parse(redirectUri) : null;
  if (!url) return "unknown";
  return url.host ? `${url.protocol}//${url.host}` : url.protocol;
}

/** The consent page's lines: what each scope the token will carry lets the client do. */
export function scopeLines(requested: string[], server: ResourceServerRecord) {
  return requested
    .filter((scope) => server.scopes.includes(scope))
    .map((scope) => ({
      scope,
      description:
        scope === BASE_SCOPE
          ? `connect to ${server.name} and call its tools as you`
          : `call the tools that require it: ${(server.toolsByScope[scope] ?? []).join(", ") || "none yet"}`,
    }));
}

const POLICY_REFUSAL: InteractionResults = {
  error: "invalid_target",
  error_description: "the server does not admit this account",
};

/** The interactions of the authorization server, as the API serves them to the web app's pages. */
export function interactions(deps: InteractionDeps) {
  const { provider } = deps.server;

  /** The interaction of this browser (its cookie), which must be the one the URL names. */
  async function find(request: FastifyRequest, reply: FastifyReply, uid: string): Promise<Details> {
    deps.asPublic(request);
    let details: Details;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch (error) {
      if (!(error instanceof errors.SessionNotFound)) throw error;
      // The cookie came but names nothing any more: the interaction timed out or was finished.
      if (/cookie not found/.test(error.error_description ?? "")) {
        throw problem("not-found", "this browser has no sign-in with that id; connect again from the application");
      }
      throw problem(
        "interaction-expired",
        "this sign-in timed out, was finished already, or its session ended; connect again from the application",
      );
    }
    if (details.uid !== uid) {
      throw problem("not-found", "this browser's sign-in is another one; connect again from the application");
    }
    return details;
  }

  /** The answer came from this interaction's page: the token its read gave out. */
  function checkForm(uid: string, csrf: string) {
    if (!checkFormToken(deps.formKey, uid, csrf)) {
      throw problem("csrf-failed", "the form token is not this sign-in's; reload the page and try again");
    }
  }

  /** Ends the interaction with `result`: where the browser goes next (the library's resume URL). */
  async function finish(request: FastifyRequest, reply: FastifyReply, result: InteractionResults, merge: boolean) {
    const returnTo = await provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission: merge,
    });
    // Below the issuer, or it would be an open redirect.
    if (!returnTo.startsWith(`${deps.issuer}/`)) throw new Error(`unexpected resume URL ${returnTo}`);
    return { redirectTo: returnTo };
  }

  /** Back to the interaction's own page (a step answered twice, or out of turn). */
  const pageOf = (uid: string) => ({ redirectTo: `${deps.urls.publicUrl}${interactionPath(uid)}` });

  async function describe(params: Record<string, unknown>) {
    const clientId = String(params.client_id ?? "");
    const client = await provider.Client.find(clientId);
    const resolved =
      typeof params.resource === "string" ? await resolveResource(deps.db, params.resource, deps.urls) : null;
    const server = resolved?.ok ? resolved.server : null;
    return {
      server,
      client: { id: clientId, name: client?.clientName ?? null, redirectHost: redirectHost(params.redirect_uri) },
      shownServer: server ? { name: server.name, url: String(params.resource) } : null,
    };
  }

  async function admitted(accountId: string | undefined, server: ResourceServerRecord | null) {
    return Boolean(accountId && server && (await userMayUse(deps.db, accountId, server)));
  }

  return {
    async view(request: FastifyRequest, reply: FastifyReply, uid: string): Promise<InteractionView> {
      const details = await find(request, reply, uid);
      const { client, server, shownServer } = await describe(details.params);
      const token = formToken(deps.formKey, uid);
      if (details.prompt.name === "login") {
        return { prompt: "login", uid, formToken: token, client, server: shownServer };
      }
      if (details.prompt.name !== "consent") {
        throw new Problem("internal", `the authorization server asks for an unexpected step ${details.prompt.name}`);
      }
      const accountId = details.session?.accountId;
      // Checked when the request came in; a policy may have changed since.
      if (!server || !(await admitted(accountId, server))) {
        return { prompt: "none", ...(await finish(request, reply, POLICY_REFUSAL, false)) };
      }
      const user = await deps.db
        .selectFrom("users")
        .select("email")
        .where("id", "=", accountId as string)
        .executeTakeFirstOrThrow();
      return {
        prompt: "consent",
        uid,
        formToken: token,
        client,
        server: { name: server.name, url: String(details.params.resource) },
        user: { email: user.email },
        scopes: scopeLines(String(details.params.scope ?? "").split(" "), server),
      };
    },

    async login(
      request: FastifyRequest,
      reply: FastifyReply,
      uid: string,
      body: { email: string; password: string; csrf: string },
    ) {
      const details = await find(request, reply, uid);
      checkForm(uid, body.csrf);
      if (details.prompt.name !== "login") return pageOf(uid);
      const attempt = await takeSignInAttempt(deps.bus, request.ip, body.email);
      if (!attempt.allowed) {
        throw new Problem(
          "rate-limited",
          `too many sign-in attempts; wait ${attempt.retryAfterSeconds} seconds and try again`,
          {},
          { "retry-after": String(attempt.retryAfterSeconds) },
        );
      }
      const user = await checkPassword(deps.db, body.email, body.password);
      if (!user) {
        throw problem("invalid-credentials", "email or password is wrong", {
          errors: [{ in: "body", path: "password", message: "email or password is wrong" }],
        });
      }
      return finish(request, reply, { login: { accountId: user.id, amr: ["pwd"] } }, false);
    },

    async consent(request: FastifyRequest, reply: FastifyReply, uid: string, body: { csrf: string }) {
      const details = await find(request, reply, uid);
      checkForm(uid, body.csrf);
      if (details.prompt.name !== "consent") return pageOf(uid);
      const accountId = details.session?.accountId as string;
      const { server } = await describe(details.params);
      if (!(await admitted(accountId, server))) return finish(request, reply, POLICY_REFUSAL, false);
      const { Grant } = provider;
      const grant =
        (details.grantId ? await Grant.find(details.grantId) : undefined) ??
        new Grant({ accountId, clientId: String(details.params.client_id) });
      const missing = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      // Both kinds, or the library asks for consent again (op_scopes_missing).
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(resource, scopes.join(" "));
      }
      const grantId = await grant.save();
      return finish(request, reply, { consent: { grantId } }, true);
    },

    async abort(request: FastifyRequest, reply: FastifyReply, uid: string, body: { csrf: string }) {
      await find(request, reply, uid);
      checkForm(uid, body.csrf);
      return finish(
        request,
        reply,
        { error: "access_denied", error_description: "the user denied the request" },
        false,
      );
    },
  };
}

export type Interactions = ReturnType<typeof interactions>;
