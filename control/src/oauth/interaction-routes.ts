import {
  interactionAnswerBody,
  interactionLoginBody,
  interactionNext,
  interactionParams,
  interactionView,
} from "@isola/schema";
import type { FastifyInstance } from "fastify";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import type { Interactions } from "./interactions.ts";

// The OAuth sign-in and consent steps as API operations, for the web app's pages at
// /oauth/interaction/{uid} (the browser never calls these itself: the web forwards its cookies).
// No account is needed: the interaction cookie and the form token are the credentials.

/**
 * The interactions of the authorization server this process mounts (plugin.ts), by the deps both
 * plugins are given: the API's routes are registered before the authorization server starts.
 */
const mounted = new WeakMap<ControlDeps, Interactions>();

export function provideInteractions(deps: ControlDeps, value: Interactions): void {
  mounted.set(deps, value);
}

function interactionsOf(deps: ControlDeps): Interactions {
  const found = mounted.get(deps);
  if (!found) throw problem("unavailable", "the authorization server is not running on this node");
  return found;
}

const STEP_PROBLEMS = ["not-found", "interaction-expired", "csrf-failed"] as const;

export function interactionRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  addRoute(app, context, {
    method: "GET",
    url: "/oauth/interactions/:uid",
    operationId: "getOAuthInteraction",
    summary: "What an OAuth sign-in or consent page shows (the browser's interaction cookie names it)",
    tag: "oauth",
    access: "public",
    params: interactionParams,
    status: 200,
    response: interactionView,
    problems: ["not-found", "interaction-expired"],
    async handler({ params, request, reply }) {
      reply.header("cache-control", "no-store");
      return interactionsOf(deps).view(request, reply, params.uid);
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/oauth/interactions/:uid/login",
    operationId: "signInOAuthInteraction",
    summary: "Sign in on an OAuth interaction; answers where the browser goes next",
    tag: "oauth",
    access: "public",
    params: interactionParams,
    body: interactionLoginBody,
    status: 200,
    response: interactionNext,
    problems: [...STEP_PROBLEMS, "invalid-credentials", "rate-limited"],
    async handler({ params, body, request, reply }) {
      reply.header("cache-control", "no-store");
      return interactionsOf(deps).login(request, reply, params.uid, body);
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/oauth/interactions/:uid/consent",
    operationId: "consentOAuthInteraction",
    summary: "Allow the client what it asked for (remembered as a grant); answers where the browser goes next",
    tag: "oauth",
    access: "public",
    params: interactionParams,
    body: interactionAnswerBody,
    status: 200,
    response: interactionNext,
    problems: [...STEP_PROBLEMS],
    async handler({ params, body, request, reply }) {
      reply.header("cache-control", "no-store");
      return interactionsOf(deps).consent(request, reply, params.uid, body);
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/oauth/interactions/:uid/abort",
    operationId: "abortOAuthInteraction",
    summary: "Deny or cancel: the client gets access_denied; answers where the browser goes next",
    tag: "oauth",
    access: "public",
    params: interactionParams,
    body: interactionAnswerBody,
    status: 200,
    response: interactionNext,
    problems: [...STEP_PROBLEMS],
    async handler({ params, body, request, reply }) {
      reply.header("cache-control", "no-store");
      return interactionsOf(deps).abort(request, reply, params.uid, body);
    },
  });
}
