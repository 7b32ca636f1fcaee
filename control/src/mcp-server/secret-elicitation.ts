import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { requireActor } from "../auth/authorize.ts";
import type { ControlDeps } from "../deps.ts";
import { createSecretRequest, dropSecretRequest, secretRequestUrl, waitForAnswer } from "../secrets/secret-requests.ts";
import type { ToolCall } from "./tool-kit.ts";

// Secret values reach Isola's MCP server only from the user, through a page of Isola's own:
// URL-mode elicitation (MCP 2025-11-25). The spec forbids form mode for credentials, and a tool
// argument is written by the model and may be logged or kept by the client. The client opens
// PUBLIC_URL/secret-requests/<id> for the user; the browser posts the values to Isola as the same
// signed-in user (secrets/secret-request-routes.ts); the waiting call takes them off the Bus,
// sealed, and they go to the vault and nowhere else. A client without URL mode is refused and told
// where the user sets them instead: never a form.

/** How long the user has to open the page and answer it. */
export const SECRET_TIMEOUT_MS = 5 * 60_000;

export interface SecretField {
  name: string;
  description?: string;
  howToGet?: string;
  required: boolean;
}

export type SecretAnswer =
  | { ok: true; values: Record<string, string> }
  | { ok: false; why: "unsupported" | "declined" | "cancelled" | "timed out" };

/** What asking needs: the session's MCP server, and the Bus, key and public URL of the control plane. */
export interface SecretAsking {
  mcp: McpServer;
  deps: Pick<ControlDeps, "bus" | "config" | "secretKey">;
}

/** Whether the client can send its user to a page (it declared elicitation, URL mode, at initialize). */
export function canAskByUrl(mcp: McpServer): boolean {
  return Boolean(mcp.server.getClientCapabilities()?.elicitation?.url);
}

/** Asks the caller for the secrets' values on Isola's page; the values they gave (optional ones may be missing). */
export async function askForSecrets(
  asking: SecretAsking,
  call: ToolCall,
  message: string,
  fields: SecretField[],
  timeoutMs = SECRET_TIMEOUT_MS,
): Promise<SecretAnswer> {
  const { mcp, deps } = asking;
  const { extra } = call;
  if (!canAskByUrl(mcp)) return { ok: false, why: "unsupported" };
  const deadline = Date.now() + timeoutMs;
  const userId = requireActor(call.request).userId;
  const request = await createSecretRequest(deps.bus, { userId, fields, message });
  // On the call's own stream, so that the client sees it as part of this call.
  const related = { relatedRequestId: extra.requestId };
  try {
    let result: Awaited<ReturnType<McpServer["server"]["elicitInput"]>>;
    try {
      result = await mcp.server.elicitInput(
        { mode: "url", elicitationId: request.id, url: secretRequestUrl(deps.config.publicUrl, request.id), message },
        { ...related, timeout: timeoutMs, signal: extra.signal },
      );
    } catch (error) {
      if (error instanceof McpError && /timed out/i.test(error.message)) return { ok: false, why: "timed out" };
      throw error;
    }
    if (result.action === "decline") return { ok: false, why: "declined" };
    if (result.action !== "accept") return { ok: false, why: "cancelled" };
    // Accept means the user went to the page; the values come from there, not in this answer.
    const waited = await waitForAnswer(deps.bus, deps.secretKey, request.id, { deadline, signal: extra.signal });
    if (!waited.ok) return waited;
    await mcp.server.createElicitationCompletionNotifier(request.id, related)();
    return waited;
  } finally {
    await dropSecretRequest(deps.bus, request.id);
  }
}

/** Why nothing was stored, in words, for a refusal. */
export function notAnswered(why: Exclude<SecretAnswer, { ok: true }>["why"]): string {
  switch (why) {
    case "declined":
      return "the user declined to give the value, so nothing was stored";
    case "cancelled":
      return "the user cancelled before giving every required value on Isola's page, so nothing was stored";
    case "timed out":
      return `nobody answered on Isola's page within ${SECRET_TIMEOUT_MS / 60_000} minutes, so nothing was stored`;
    case "unsupported":
      return "this MCP client cannot open a page for the user (it did not declare URL-mode elicitation), and Isola asks for secrets only on its own pages, never in a form or the conversation";
  }
}
