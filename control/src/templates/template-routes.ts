import { templateDeployBody, templateDeployView, templateDetail, templateId, templateList } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ControlDeps } from "../deps.ts";
import { addRoute, type RouteContext } from "../http/route.ts";
import { type Catalogue, loadCatalogue, templateFiles } from "./catalogue.ts";
import { deployTemplate, findTemplate, templateListing } from "./template-deploy.ts";

const templateParams = z.object({ template: templateId });

/**
 * The template gallery (templates/, read once at startup): list, read, and deploy one as a new
 * live server in one call, with the same writes as POST /servers, PUT secrets, POST versions and
 * POST deploy (servers/server-writes.ts; template-deploy.ts, shared with Isola's MCP server).
 */
export function templateRoutes(
  app: FastifyInstance,
  context: RouteContext,
  deps: ControlDeps,
  catalogue: Catalogue = loadCatalogue(),
): void {
  const find = (id: string) => findTemplate(catalogue, id);

  addRoute(app, context, {
    method: "GET",
    url: "/templates",
    operationId: "listTemplates",
    summary: "The template gallery: ready-made servers that deploy without a model",
    tag: "templates",
    access: "signed-in",
    status: 200,
    response: templateList,
    async handler() {
      return { items: [...catalogue.values()].map((template) => templateListing(template.manifest)) };
    },
  });

  addRoute(app, context, {
    method: "GET",
    url: "/templates/:template",
    operationId: "getTemplate",
    summary: "One template with its source files (config.ts with the default settings)",
    tag: "templates",
    access: "signed-in",
    params: templateParams,
    status: 200,
    response: templateDetail,
    problems: ["not-found"],
    async handler({ params }) {
      const template = find(params.template);
      return { ...templateListing(template.manifest), files: templateFiles(template) };
    },
  });

  addRoute(app, context, {
    method: "POST",
    url: "/templates/:template/deploy",
    operationId: "deployTemplate",
    summary: "Create a server from a template, store its secrets, approve its egress, compile and deploy version 1",
    tag: "templates",
    access: "servers:create",
    params: templateParams,
    body: templateDeployBody,
    status: 201,
    response: templateDeployView,
    problems: ["not-found", "forbidden", "slug-taken", "plan-limit", "compile-failed"],
    handler: ({ params, body, request }) => deployTemplate(deps, request, find(params.template), body),
  });
}
