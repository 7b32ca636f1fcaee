// The playground's tool call: a short-lived dashboard token minted by control for the signed-in
// user, then the server's real MCP endpoint through the MCP SDK's client, so that the call shows
// in logs and metrics like any client's. Runs on the web server only: the token never reaches a browser.

import type { PlaygroundTokenView, ProblemDetails } from "@isola/schema";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ControlClient } from "../../server/control-client.ts";

export interface ToolAnswer {
  isError: boolean;
  content: unknown[];
  structuredContent?: unknown;
}

export type PlaygroundOutcome =
  | { ok: true; answer: ToolAnswer }
  | { ok: false; problem: Pick<ProblemDetails, "title" | "detail"> };

export async function callTool(
  control: ControlClient,
  slug: string,
  tool: string,
  args: Record<string, unknown>,
): Promise<PlaygroundOutcome> {
  const minted = await control.post<PlaygroundTokenView>(`/servers/${encodeURIComponent(slug)}/playground-token`);
  if (!minted.ok) return { ok: false, problem: minted.problem };
  const transport = new StreamableHTTPClientTransport(new URL(minted.data.mcpUrl), {
    requestInit: { headers: { authorization: `Bearer ${minted.data.accessToken}` } },
  });
  const client = new Client({ name: "isola-playground", version: "1.0.0" });
  try {
    await client.connect(transport);
    const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: 60_000 });
    return {
      ok: true,
      answer: {
        isError: result.isError === true,
        content: Array.isArray(result.content) ? result.content : [],
        ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }),
      },
    };
  } catch (error) {
    return { ok: false, problem: { title: "The call failed", detail: (error as Error).message } };
  } finally {
    await client.close().catch(() => {});
  }
}
