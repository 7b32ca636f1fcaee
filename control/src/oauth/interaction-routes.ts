import formbody from "@fastify/formbody";
import { BASE_SCOPE, type Bus, type Database } from "@isola/schema";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { errors, type InteractionResults } from "oidc-provider";
import { checkPassword, takeSignInAttempt } from "../accounts/sign-in.ts";
import { userMayUse } from "./access-policy.ts";
import type { AuthorizationServer } from "./authorization-server.ts";
import { checkFormToken, formToken } from "./derived-keys.ts";
import { type ResourceServerRecord, type ResourceUrlOptions, resolveResource } from "./resources.ts";
import { consentPage, errorPage, loginPage, PAGE_HEADERS, type RequestSummary, type ScopeLine } from "./views.ts";

// The pages between an MCP client's authorization request and its code: sign in with the
// control plane's account, then consent. Each page belongs to one interaction (the library's
// short-lived record, named by the uid in the URL and the interaction cookie); every form
// carries a token bound to that uid; every redirect goes to the library's own resume URL,
// never to a URL from the request.

export interface InteractionDeps {
  server: AuthorizationServer;
  db: Kysely<Database>;
  bus: Bus;
  formKey: Buffer;
  publicUrl: URL;
  issuer: string;
  urls: ResourceUrlOptions;
  /** Sets the X-Forwarded-* headers from PUBLIC_URL, as for every request the provider sees. */
  asPublic(request: FastifyRequest): void;
}

type Params = { uid: string };
type Form = Record<string, string | string[] | undefined>;

const UID = /^[A-Za-z0-9_-]{1,64}$/;

/** A page that stops the flow; the status says why. */
class PageRefusal extends Error {
  readonly status: number;
  readonly title: string;
  constructor(status: number, title: string, message: string) {
    super(message);
    this.status = status;
    this.title = title;
  }
}

function send(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).headers(PAGE_HEADERS).send(body);
}

const field = (form: Form | undefined, name: string) => {
  const value = form?.[name];
  return typeof value === "string" ? value : undefined;
};

/** Where the client sends the user back, as the consent page names it (scheme and host only). */
export function redirectHost(redirectUri: unknown): string {
  const url = typeof redirectUri === "string" ? URL.parse(redirectUri) : null;
  if (!url) return "unknown";
  return url.host ? `${url.protocol}//${url.host}` : url.protocol;
}

/** The consent page's lines: what each scope the token will carry lets the client do. */
export function scopeLines(requested: string[], server: ResourceServerRecord): ScopeLine[] {
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

export function interactionRoutes(app: FastifyInstance, deps: InteractionDeps): void {
  const paths = (uid: string) => {
    const base = `/oauth/interaction/${uid}`;
    return { page: base, login: `${base}/login`, consent: `${base}/consent`, abort: `${base}/abort` };
  };

  /** The interaction of this browser, which must be the one the URL names. */
  async function interaction(request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) {
    const { uid } = request.params;
    if (!UID.test(uid)) throw new PageRefusal(404, "Not found", "There is no sign-in here.");
    deps.asPublic(request);
    let details: Awaited<ReturnType<AuthorizationServer["provider"]["interactionDetails"]>>;
    try {
      details = await deps.server.provider.interactionDetails(request.raw, reply.raw);
    } catch (error) {
      if (error instanceof errors.SessionNotFound) {
        throw new PageRefusal(
          400,
          "This sign-in has expired",
          "It timed out, was finished already, or was started in another browser. Go back to the application and connect again.",
        );
      }
      throw error;
    }
    if (details.uid !== uid) {
      throw new PageRefusal(
        400,
        "This sign-in belongs to another request",
        "Go back to the application and connect again.",
      );
    }
    return details;
  }

  /** The form came from this page: its token, and when the browser says where it came from, our origin. */
  function checkForm(request: FastifyRequest<{ Params: Params; Body: Form }>) {
    const origin = request.headers.origin;
    const sameOrigin = origin === undefined || origin === deps.publicUrl.origin;
    if (!sameOrigin || !checkFormToken(deps.formKey, request.params.uid, field(request.body, "csrf"))) {
      throw new PageRefusal(403, "This form has expired", "Reload the page and try again.");
    }
  }

  async function summarise(
    params: Record<string, unknown>,
  ): Promise<{ summary: RequestSummary; server: ResourceServerRecord | null }> {
    const clientId = String(params.client_id ?? "");
    const client = await deps.server.provider.Client.find(clientId);
    const resolved =
      typeof params.resource === "string" ? await resolveResource(deps.db, params.resource, deps.urls) : null;
    const server = resolved?.ok ? resolved.server : null;
    return {
      server,
      summary: {
        client: { id: clientId, name: client?.clientName ?? null, redirectHost: redirectHost(params.redirect_uri) },
        server: server ? { name: server.name, url: String(params.resource) } : null,
      },
    };
  }

  /** Ends the interaction with `result` and sends the browser back to the authorization endpoint. */
  async function finish(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    result: InteractionResults,
    merge: boolean,
  ) {
    const returnTo = await deps.server.provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission: merge,
    });
    // The library's resume URL, below the issuer: anything else would be an open redirect.
    if (!returnTo.startsWith(`${deps.issuer}/`)) throw new Error(`unexpected resume URL ${returnTo}`);
    return reply.code(303).header("location", returnTo).header("cache-control", "no-store").send();
  }

  async function showLogin(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    params: Record<string, unknown>,
    status: number,
    problem?: { error: string; email?: string | undefined },
  ) {
    const { uid } = request.params;
    const { summary } = await summarise(params);
    return send(
      reply,
      status,
      loginPage({
        action: paths(uid).login,
        abortAction: paths(uid).abort,
        csrf: formToken(deps.formKey, uid),
        summary,
        ...(problem?.email ? { email: problem.email } : {}),
        ...(problem ? { error: problem.error } : {}),
      }),
    );
  }

  async function admitted(accountId: string | undefined, server: ResourceServerRecord | null) {
    return Boolean(accountId && server && (await userMayUse(deps.db, accountId, server)));
  }

  const routes = async (scope: FastifyInstance) => {
    await scope.register(formbody, { bodyLimit: 16 * 1024 });
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof PageRefusal) return send(reply, error.status, errorPage(error.title, error.message));
      if (
        (error as { statusCode?: number }).statusCode === 413 ||
        (error as { statusCode?: number }).statusCode === 415
      ) {
        return send(reply, 400, errorPage("This form cannot be sent", "Reload the page and try again."));
      }
      request.log.error({ err: error }, "OAuth interaction failed");
      return send(reply, 500, errorPage("Something went wrong", "Go back to the application and try again."));
    });

    scope.get<{ Params: Params }>("/oauth/interaction/:uid", async (request, reply) => {
      const details = await interaction(request, reply);
      const { uid } = request.params;
      if (details.prompt.name === "login") return showLogin(request, reply, details.params, 200);
      if (details.prompt.name !== "consent") {
        throw new PageRefusal(400, "This sign-in cannot go on", `Unexpected step ${details.prompt.name}.`);
      }
      const { summary, server } = await summarise(details.params);
      const accountId = details.session?.accountId;
      if (!server || !(await admitted(accountId, server))) {
        // Checked when the request came in; a policy may have changed since.
        return finish(
          request,
          reply,
          { error: "invalid_target", error_description: "the server does not admit this account" },
          false,
        );
      }
      const user = await deps.db
        .selectFrom("users")
        .select("email")
        .where("id", "=", accountId as string)
        .executeTakeFirstOrThrow();
      const requested = String(details.params.scope ?? "").split(" ");
      return send(
        reply,
        200,
        consentPage({
          action: paths(uid).consent,
          abortAction: paths(uid).abort,
          csrf: formToken(deps.formKey, uid),
          summary: { ...summary, server: { name: server.name, url: String(details.params.resource) } },
          email: user.email,
          scopes: scopeLines(requested, server),
        }),
      );
    });

    scope.post<{ Params: Params; Body: Form }>("/oauth/interaction/:uid/login", async (request, reply) => {
      const details = await interaction(request, reply);
      checkForm(request);
      if (details.prompt.name !== "login")
        return reply.code(303).header("location", paths(request.params.uid).page).send();
      const email = field(request.body, "email")?.trim() ?? "";
      const password = field(request.body, "password") ?? "";
      if (!email || email.length > 254 || !password || password.length > 200) {
        return showLogin(request, reply, details.params, 400, { error: "Enter your email and password.", email });
      }
      const attempt = await takeSignInAttempt(deps.bus, request.ip, email);
      if (!attempt.allowed) {
        reply.header("retry-after", String(attempt.retryAfterSeconds));
        return showLogin(request, reply, details.params, 429, {
          error: `Too many sign-in attempts. Wait ${attempt.retryAfterSeconds} seconds and try again.`,
          email,
        });
      }
      const user = await checkPassword(deps.db, email, password);
      if (!user) return showLogin(request, reply, details.params, 401, { error: "Email or password is wrong.", email });
      return finish(request, reply, { login: { accountId: user.id, amr: ["pwd"] } }, false);
    });

    scope.post<{ Params: Params; Body: Form }>("/oauth/interaction/:uid/consent", async (request, reply) => {
      const details = await interaction(request, reply);
      checkForm(request);
      if (details.prompt.name !== "consent") {
        return reply.code(303).header("location", paths(request.params.uid).page).send();
      }
      const accountId = details.session?.accountId as string;
      const { server } = await summarise(details.params);
      if (!(await admitted(accountId, server))) {
        return finish(
          request,
          reply,
          { error: "invalid_target", error_description: "the server does not admit this account" },
          false,
        );
      }
      const { Grant } = deps.server.provider;
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
    });

    scope.post<{ Params: Params; Body: Form }>("/oauth/interaction/:uid/abort", async (request, reply) => {
      await interaction(request, reply);
      checkForm(request);
      return finish(
        request,
        reply,
        { error: "access_denied", error_description: "the user denied the request" },
        false,
      );
    });
  };
  app.register(routes);
}
