import { answerSecretRequestBody, secretRequestAnswered, secretRequestId, secretRequestView } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { problem } from "../http/problems.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { answerErrors, answerSecretRequest, readSecretRequest, viewOf } from "./secret-requests.ts";

const params = z.object({ id: secretRequestId });

// Unknown, expired, answered and another user's requests all answer the same: existence is not disclosed.
const NOT_FOUND = "no secret request with that id is open for you (it may have expired or been answered)";

/**
 * The page behind Isola's URL-mode elicitation reads and answers a secret request here, as the
 * user the MCP server asked. Values are sealed for the waiting call; never logged or audited.
 */
export function secretRequestRoutes(app: FastifyInstance, context: RouteContext, deps: ControlDeps): void {
  addRoute(app, context, {
    method: "GET",
    url: "/secret-requests/:id",
    operationId: "getSecretRequest",
    summary: "A secret request of Isola's MCP server: what it asks for (only for the user it asks)",
    tag: "secrets",
    access: "signed-in",
    params,
    status: 200,
    response: secretRequestView,
    problems: ["not-found"],
    async handler({ params, request, reply }) {
      const actor = requireActor(request);
      const found = await readSecretRequest(deps.bus, params.id, actor.userId);
      if (!found) throw problem("not-found", NOT_FOUND);
      reply.header("cache-control", "no-store");
      return viewOf(found);
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/secret-requests/:id",
    operationId: "answerSecretRequest",
    summary: "Answer a secret request with the values (once); the MCP tool call that asked goes on",
    tag: "secrets",
    access: "signed-in",
    params,
    body: answerSecretRequestBody,
    status: 200,
    response: secretRequestAnswered,
    problems: ["not-found"],
    async handler({ params, body, request, reply }) {
      const actor = requireActor(request);
      const found = await readSecretRequest(deps.bus, params.id, actor.userId);
      if (!found) throw problem("not-found", NOT_FOUND);
      const errors = answerErrors(found.fields, body.values);
      if (errors.length > 0) {
        throw problem("invalid-request", errors.map((error) => error.message).join("; "), {
          errors: errors.map((error) => ({ in: "body", ...error })),
        });
      }
      if (!(await answerSecretRequest(deps.bus, deps.secretKey, found, body.values))) {
        throw problem("not-found", NOT_FOUND);
      }
      reply.header("cache-control", "no-store");
      return { received: Object.keys(body.values) };
    },
  });
}
