// The operations of /api/v1 as the served OpenAPI document lists them: the RBAC matrix, the
// bad-input table and the docs check all start from it, so that a new route is noticed.
import type { OrgRole } from "@isola/schema";
import type { Api } from "../support/api-harness.ts";

export type Access = "public" | "signed-in" | { permission: string; minimumRole: OrgRole };

export interface Operation {
  /** "POST /servers/{slug}/deploy": the method and the path below /api/v1. */
  key: string;
  method: string;
  /** The path below /api/v1, with {parameters}. */
  path: string;
  operationId: string;
  access: Access;
  /** The status of a success. */
  success: number;
  /** Every problem type it declares (x-isola-problems). */
  problems: string[];
  pathParameters: string[];
  queryParameters: string[];
  /** The request body's JSON Schema, when there is one. */
  bodySchema?: BodySchema;
}

export interface BodySchema {
  type?: string;
  properties?: Record<string, { type?: string | string[] }>;
  required?: string[];
  additionalProperties?: unknown;
  anyOf?: unknown[];
}

interface OpenApiOperation {
  operationId: string;
  "x-isola-access": Access;
  "x-isola-problems": string[];
  parameters: { name: string; in: string }[];
  requestBody?: { content: { "application/json": { schema: BodySchema } } };
  responses: Record<string, unknown>;
}

export async function servedOperations(api: Api): Promise<Operation[]> {
  const document = (await api.anonymous.get("openapi.json")).body as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  const operations: Operation[] = [];
  for (const [fullPath, methods] of Object.entries(document.paths)) {
    const path = fullPath.replace(/^\/api\/v1/, "");
    for (const [method, operation] of Object.entries(methods)) {
      const success = Object.keys(operation.responses)
        .map(Number)
        .find((status) => status >= 200 && status < 300);
      if (success === undefined) throw new Error(`${method} ${fullPath} documents no success status`);
      const bodySchema = operation.requestBody?.content["application/json"].schema;
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        operationId: operation.operationId,
        access: operation["x-isola-access"],
        success,
        problems: operation["x-isola-problems"],
        pathParameters: operation.parameters.filter((p) => p.in === "path").map((p) => p.name),
        queryParameters: operation.parameters.filter((p) => p.in === "query").map((p) => p.name),
        ...(bodySchema ? { bodySchema } : {}),
      });
    }
  }
  return operations;
}

const RANK: Record<OrgRole, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** Whether `role` has the access an operation documents (public and signed-in: every role). */
export function roleMay(access: Access, role: OrgRole): boolean {
  return typeof access === "string" || RANK[role] >= RANK[access.minimumRole];
}

/** How docs/API.md and the matrix name an operation's access. */
export function accessLabel(access: Access): string {
  return typeof access === "string" ? access : access.permission;
}
