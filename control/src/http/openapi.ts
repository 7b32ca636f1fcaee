import { problemDetails } from "@isola/schema";
import { z } from "zod";
import { PERMISSIONS } from "../auth/rbac.ts";
import { PROBLEMS, type ProblemCode, problemType } from "./problems.ts";
import type { AnyRoute } from "./route.ts";

const jsonSchema = (schema: z.ZodType, io: "input" | "output") => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return rest;
};

/** Path or query parameters from an object schema. */
function parameters(schema: z.ZodType | undefined, where: "path" | "query") {
  if (!schema) return [];
  const object = jsonSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || (object.required ?? []).includes(name),
    schema: property,
  }));
}

const COMMON_PROBLEMS = ["invalid-request", "unauthenticated", "internal"] as const;

/** What any operation of this kind may answer besides its own problems. */
function problemsOf(route: AnyRoute): ProblemCode[] {
  const writes = route.method !== "GET";
  return [
    ...new Set<ProblemCode>([
      ...COMMON_PROBLEMS,
      // A browser session that writes without its CSRF token.
      ...(writes && route.access !== "public" ? (["csrf-failed"] as const) : []),
      // Fastify reads a body on every method but GET.
      ...(writes ? (["unsupported-media-type", "payload-too-large"] as const) : []),
      // A reused key (another request), or a retry while the first runs or of a one-time secret.
      ...(route.idempotent ? (["idempotency-key-reused", "conflict"] as const) : []),
      ...(route.problems ?? []),
    ]),
  ];
}

/** The OpenAPI 3.1 document of the registered routes (JSON Schema 2020-12 from the same zod schemas). */
export function openApiDocument(routes: AnyRoute[], serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/v1${route.url}`.replace(/:(\w+)/g, "{$1}");
    const problems = problemsOf(route);
    const responses: Record<string, unknown> = {
      [route.status]: route.response
        ? {
            description: "OK",
            content: {
              "application/json": { schema: jsonSchema(route.response, "output") },
              // Streams are described in the operation's summary and docs/API.md: OpenAPI has no schema for events.
              ...(route.sse ? { "text/event-stream": { schema: { type: "string" } } } : {}),
            },
          }
        : { description: "Done" },
    };
    for (const code of problems) {
      const status = String(PROBLEMS[code].status);
      const existing = responses[status] as { description: string } | undefined;
      responses[status] = {
        description: existing ? `${existing.description}; ${code}` : code,
        content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
      };
    }
    const access = route.access;
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(access === "public" ? { security: [] } : {}),
      "x-isola-access":
        access in PERMISSIONS
          ? { permission: access, minimumRole: PERMISSIONS[access as keyof typeof PERMISSIONS] }
          : access,
      // Every problem type the operation may answer, for clients and the tests that check them.
      "x-isola-problems": problems.map(problemType),
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: jsonSchema(route.body, "input") } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Isola API", version: "1" },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: { Problem: jsonSchema(problemDetails, "output") },
      securitySchemes: {
        token: { type: "http", scheme: "bearer", description: "A personal access token: isola_pat_..." },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "isola_session",
          description: "Browser session; writes also need X-CSRF-Token",
        },
      },
    },
    security: [{ token: [] }, { session: [] }],
  };
}
