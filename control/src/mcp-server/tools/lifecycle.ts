import { serverSlug, serverView } from "@isola/schema";
import { z } from "zod";
import { deleteServer, pauseOrResume } from "../../servers/server-routes.ts";
import { addTool, answer, refusal, type ToolContext } from "../tool-kit.ts";

const serverInput = z.object({ server: serverSlug.describe("The server's slug") });

/**
 * Why a deletion's confirmation does not stand, or undefined: `confirm` must be the server's slug
 * typed again, exactly, so that one slip of the model cannot delete a server. Pure.
 */
export function deletionRefused(server: string, confirm: string): string | undefined {
  if (confirm === server) return undefined;
  return `Nothing was deleted: confirm (${JSON.stringify(confirm.slice(0, 100))}) is not the server's slug (${JSON.stringify(server)}). Deleting ${server} removes it, its versions, secrets and keys for good: ask the user, and only if they agree call delete_server again with confirm set to "${server}".`;
}

/** Pause, resume and delete a server (the REST API's functions: servers:deploy, servers:delete). */
export function registerLifecycleTools(context: ToolContext): void {
  const { deps, mcp } = context;

  addTool(mcp, "pause_server", {
    title: "Pause a server",
    description:
      "Stops a server from serving: its MCP calls are refused (503) until resume_server. Its versions, secrets and settings stay. A draft (never deployed) has nothing to pause. Needs the member role.",
    input: serverInput,
    output: serverView,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run({ server }, { request }) {
      const view = await pauseOrResume(deps, request, server, "pause");
      return answer(view, `${view.slug} is paused: MCP calls get 503 until resume_server.`);
    },
  });

  addTool(mcp, "resume_server", {
    title: "Resume a server",
    description:
      "Makes a paused server serve MCP calls again, with its live version. A server with no deployed version cannot be resumed (deploy one). Needs the member role.",
    input: serverInput,
    output: serverView,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    async run({ server }, { request }) {
      const view = await pauseOrResume(deps, request, server, "resume");
      return answer(view, `${view.slug} serves again (version ${view.activeVersion}) at ${view.mcpUrl}.`);
    },
  });

  addTool(mcp, "delete_server", {
    title: "Delete a server",
    description:
      "Deletes a server for good: its versions, secrets and API keys go with it, its MCP URL stops answering, and its slug becomes free. It cannot be undone: only call it when the user asked for it, with confirm set to the server's slug typed again. Needs the admin role.",
    input: serverInput.extend({
      confirm: z.string().max(200).describe("The server's slug typed again, to confirm the deletion"),
    }),
    output: z.object({ id: z.string(), slug: z.string(), deleted: z.literal(true) }),
    // Not idempotent: once the slug is free, a new server may take it, and a repeated call would delete that one.
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
    async run({ server, confirm }, { request }) {
      const refused = deletionRefused(server, confirm);
      if (refused) return refusal(refused);
      const deleted = await deleteServer(deps, request, server);
      return answer(
        { id: deleted.id, slug: deleted.slug, deleted: true },
        `${deleted.slug} is deleted, with its versions, secrets and keys; its slug is free.`,
      );
    },
  });
}
