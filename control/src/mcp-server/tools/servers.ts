import { page, pageQuery, serverSlug, serverView } from "@isola/schema";
import { z } from "zod";
import { loadServer } from "../../servers/load.ts";
import { activeVersionNumber, listServers, toServerView } from "../../servers/server-routes.ts";
import { activateNumber } from "../../servers/version-routes.ts";
import { addTool, answer, type ToolContext } from "../tool-kit.ts";

const toolList = z.array(z.object({ name: z.string(), description: z.string() }));
const versionInput = z.object({
  server: serverSlug.describe("The server's slug"),
  version: z.number().int().min(1).max(2_147_483_647).describe("The version number"),
});

/** Servers: list, read, and move the live version (the REST API's checks: servers:read, servers:deploy). */
export function registerServerTools(context: ToolContext): void {
  const { deps, mcp } = context;

  addTool(mcp, "list_servers", {
    title: "List servers",
    description:
      "Lists the MCP servers you can see on Isola (in your orgs; a personal access token sees its own org), by slug, with each one's status, live version and MCP URL. Pages of up to `limit`; pass `next` back as `cursor` for the following page.",
    input: pageQuery.extend({
      org: z.string().max(100).optional().describe("Only this org's servers (its slug)"),
      limit: z.number().int().min(1).max(200).default(50),
    }),
    output: page(serverView),
    annotations: { readOnlyHint: true },
    async run(args, { request }) {
      const listed = await listServers(deps, request, args);
      const names = listed.items.map((server) => `${server.slug} (${server.status})`).join(", ");
      return answer(listed, listed.items.length ? `${listed.items.length} server(s): ${names}` : "No servers.");
    },
  });

  addTool(mcp, "get_server", {
    title: "Get a server",
    description:
      "Reads one server: its settings (auth mode, approved egress hosts, status, live version, MCP URL) and the tools its live version serves.",
    input: z.object({ server: serverSlug.describe("The server's slug") }),
    output: z.object({ server: serverView, tools: toolList }),
    annotations: { readOnlyHint: true },
    async run({ server: slug }, { request }) {
      const server = await loadServer(deps.db, request, slug, "servers:read");
      const active = server.active_version_id
        ? await deps.db
            .selectFrom("server_versions")
            .select("manifest")
            .where("id", "=", server.active_version_id)
            .executeTakeFirst()
        : undefined;
      const view = toServerView(server, await activeVersionNumber(deps, server), deps.config.publicUrl);
      const tools = (active?.manifest.tools ?? []).map((tool) => ({ name: tool.name, description: tool.description }));
      const live = view.activeVersion ? `version ${view.activeVersion} is ${view.status}` : "nothing is deployed";
      return answer({ server: view, tools }, `${view.slug}: ${live}, at ${view.mcpUrl}`);
    },
  });

  addTool(mcp, "deploy", {
    title: "Deploy a version",
    description:
      "Makes a version of a server live: its next MCP calls are served by it (calls running finish on the old one). The version's egress hosts must be approved. Needs the member role.",
    input: versionInput,
    output: serverView,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run({ server, version }, { request }) {
      const view = await activateNumber(deps, request, server, version, "deploy");
      return answer(view, `Version ${view.activeVersion} of ${view.slug} is live at ${view.mcpUrl}.`);
    },
  });

  addTool(mcp, "roll_back", {
    title: "Roll back",
    description:
      "Makes an earlier version of a server live again (a version before the live one; use deploy for newer ones). Needs the member role.",
    input: versionInput,
    output: serverView,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run({ server, version }, { request }) {
      const view = await activateNumber(deps, request, server, version, "rollback");
      return answer(view, `${view.slug} is back on version ${view.activeVersion}.`);
    },
  });
}
