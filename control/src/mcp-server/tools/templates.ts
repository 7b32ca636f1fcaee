import { templateDeployBody, templateDeployView, templateId, templateList } from "@isola/schema";
import { z } from "zod";
import { authorize } from "../../auth/authorize.ts";
import { targetOrg } from "../../servers/server-routes.ts";
import { deployTemplate, findTemplate, templateListing } from "../../templates/template-deploy.ts";
import { askForSecrets, notAnswered } from "../secret-elicitation.ts";
import { addTool, answer, refusal, type ToolContext } from "../tool-kit.ts";

/** The template gallery: ready-made servers that deploy without a model. */
export function registerTemplateTools(context: ToolContext): void {
  const { deps, catalogue, mcp } = context;

  addTool(mcp, "list_templates", {
    title: "List templates",
    description:
      "The template gallery: ready-made MCP servers that deploy in one call without a model (an HTTP JSON API wrapper, an RSS/Atom reader, GitHub issues search, Notion search, a weather forecast, a static FAQ). Each names the hosts it reaches, the secrets it reads and its settings.",
    input: z.object({}),
    output: templateList,
    annotations: { readOnlyHint: true },
    async run() {
      const items = [...catalogue.values()].map((template) => templateListing(template.manifest));
      return answer({ items }, items.map((item) => `${item.id}: ${item.description}`).join("\n"));
    },
  });

  addTool(mcp, "deploy_template", {
    title: "Deploy a template",
    description:
      "Creates a live server from a template: a new server with this slug, its settings (`config`, by name; the others keep their defaults), its hosts approved, version 1 compiled and deployed. Secrets are never arguments: when the template reads secrets, the client opens a page of Isola's for the user (URL-mode elicitation), where they enter them. Needs the member role in the org.",
    input: templateDeployBody.omit({ secrets: true }).extend({ template: templateId.describe("The template's id") }),
    output: templateDeployView,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    async run({ template: id, ...body }, call) {
      const { request } = call;
      const template = findTemplate(catalogue, id);
      // The permissions first: nobody is asked for a secret that could not be stored.
      const org = await targetOrg(deps, request, body.org);
      await authorize(deps.db, request, org.id, "servers:create");
      await authorize(deps.db, request, org.id, "servers:deploy");
      let secrets: Record<string, string> = {};
      const wanted = template.manifest.secrets;
      if (wanted.length > 0) {
        const asked = await askForSecrets(
          context,
          call,
          `The ${template.manifest.name} template (server ${body.slug}) reads these secrets. They are stored encrypted and never shown again.`,
          wanted,
        );
        if (!asked.ok && wanted.some((secret) => secret.required)) {
          return refusal(
            `Nothing was deployed: ${notAnswered(asked.why)}. The user can deploy it with its secrets in Isola's web app (${deps.config.publicUrl}/dashboard), or with the API: POST ${deps.config.publicUrl}/api/v1/templates/${id}/deploy with {"slug": "${body.slug}", "secrets": {...}}.`,
          );
        }
        if (asked.ok) secrets = asked.values;
      }
      const deployed = await deployTemplate(deps, request, template, { ...body, secrets });
      return answer(
        deployed,
        `${deployed.server.slug} is live at ${deployed.server.mcpUrl} (version ${deployed.version.number}, tools: ${deployed.version.manifest.tools.map((tool) => tool.name).join(", ")}).`,
      );
    },
  });
}
