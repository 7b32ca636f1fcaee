import type { Database } from "@isola/schema";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { z } from "zod";
import { requireActor } from "../auth/authorize.ts";
import type { Permission } from "../auth/rbac.ts";
import { withIdempotency } from "./idempotency.ts";
import { Problem, type ProblemCode, problem } from "./problems.ts";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Schema = z.ZodType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

/**
 * One API operation, declared once: its zod schemas validate the request, check the response
 * and produce the OpenAPI document; its permission documents who may call it (docs/API.md and
 * the RBAC matrix test read the same registry).
 */
export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
  R extends Schema | null,
> {
  method: Method;
  /** Fastify syntax: /servers/:slug */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  /** "public": no authentication; "signed-in": any user; a permission: checked against the resource's org. */
  access: "public" | "signed-in" | Permission;
  params?: P;
  query?: Q;
  body?: B;
  status: number;
  response: R;
  /** The problems this operation may answer, beyond the ones every operation may. */
  problems?: ProblemCode[];
  /** Accepts an Idempotency-Key header (POSTs that create things). */
  idempotent?: boolean;
  /** The response carries a secret (a token, key or link): it is never kept for replay. */
  secretInResponse?: boolean;
  /**
   * Also answers as Server-Sent Events (@fastify/sse, "dual"): when the client asks for
   * text/event-stream the handler gets `reply.sse`, streams, and returns `answeredAsStream()`;
   * otherwise it returns the response as usual.
   */
  sse?: true;
  handler(input: {
    params: Out<P>;
    query: Out<Q>;
    body: Out<B>;
    request: FastifyRequest;
    reply: FastifyReply;
  }): Promise<R extends Schema ? z.input<R> : undefined>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds routes of every shape.
export type AnyRoute = RouteSpec<any, any, any, any>;

function parse<S extends Schema>(schema: S | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? (where === "body" ? undefined : {}));
  if (result.success) return result.data;
  throw problem(
    "invalid-request",
    `the ${where} is not valid: ${z.prettifyError(result.error).replaceAll("\n", " ")}`,
    {
      errors: result.error.issues.map((issue) => ({
        in: where,
        path: issue.path.join("."),
        message: issue.message,
      })),
    },
  );
}

/** What a streaming handler returns once it has answered on the stream itself. */
export const answeredAsStream = (): never => undefined as never;

export interface RouteContext {
  registry: AnyRoute[];
  db: Kysely<Database>;
}

/** Registers a route on `app` and records it in the registry (for OpenAPI and the RBAC matrix). */
export function addRoute<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
  R extends Schema | null,
>(app: FastifyInstance, context: RouteContext, spec: RouteSpec<P, Q, B, R>): void {
  context.registry.push(spec);
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.sse ? { sse: "dual" as const } : {}),
    handler: async (request, reply) => {
      // Authentication first, so that an anonymous caller learns nothing from validation errors.
      if (spec.access !== "public") requireActor(request);
      const params = parse(spec.params, request.params, "path") as Out<P>;
      const query = parse(spec.query, request.query, "query") as Out<Q>;
      const body = parse(spec.body, request.body, "body") as Out<B>;
      const execute = async () => {
        const value = await spec.handler({ params, query, body, request, reply });
        if (spec.response === null || reply.raw.headersSent) return { status: spec.status, body: undefined };
        // The response schema is the contract: a handler that breaks it is a bug, not a client error.
        const checked = (spec.response as Schema).safeParse(value);
        if (!checked.success) {
          request.log.error(
            { operation: spec.operationId, issues: checked.error.issues },
            "response does not match its schema",
          );
          throw new Problem("internal", "the server produced an invalid response");
        }
        return { status: spec.status, body: checked.data };
      };
      const result = spec.idempotent
        ? await withIdempotency(context.db, request, execute, { secretInResponse: spec.secretInResponse ?? false })
        : { ...(await execute()), replayed: false };
      if (reply.sent) return reply;
      // A stream answered as it went; @fastify/sse ends it.
      if (reply.raw.headersSent) return undefined;
      if (result.replayed) reply.header("idempotency-replayed", "true");
      reply.code(result.status);
      return result.body === undefined ? reply.send() : reply.type("application/json").send(result.body);
    },
  });
}
