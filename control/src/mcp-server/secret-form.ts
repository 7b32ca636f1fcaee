import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import type { ToolExtra } from "./tool-kit.ts";

// Secret values reach Isola's MCP server only through the user: an elicitation form the client
// shows them (elicitation/create), never a tool argument, which the model writes and a client may
// log or keep in its context. The answer goes to the vault and nowhere else.
//
// The MCP spec (2025-11-25) asks servers to collect credentials with URL-mode elicitation (a page
// of the server's own, so the value does not pass through the client at all), not with a form.
// Isola has no such page yet: a form keeps the value out of the model's context and arguments,
// which is the guarantee here; the URL mode is planned (docs/API.md, "Isola's MCP server").

/** How long the user has to fill in the form. */
export const FORM_TIMEOUT_MS = 5 * 60_000;

export interface SecretField {
  name: string;
  description?: string;
  howToGet?: string;
  required: boolean;
}

export type SecretAnswer =
  | { ok: true; values: Record<string, string> }
  | { ok: false; why: "unsupported" | "declined" | "cancelled" | "timed out" };

/** Whether the client can show a form (it declared elicitation, form mode, at initialize). */
export function canAsk(mcp: McpServer): boolean {
  return Boolean(mcp.server.getClientCapabilities()?.elicitation?.form);
}

/** The form: one string field per secret, required ones marked so. Pure. */
export function secretForm(fields: SecretField[]) {
  return {
    type: "object" as const,
    properties: Object.fromEntries(
      fields.map((field) => [
        field.name,
        {
          type: "string" as const,
          title: field.name,
          description: [field.description, field.howToGet ? `How to get it: ${field.howToGet}` : undefined]
            .filter(Boolean)
            .join(" ")
            .slice(0, 2000),
          minLength: 1,
          maxLength: 65_536,
        },
      ]),
    ),
    required: fields.filter((field) => field.required).map((field) => field.name),
  };
}

/** Asks the user for the secrets' values; the values they gave (empty optional fields left out). */
export async function askForSecrets(
  mcp: McpServer,
  extra: ToolExtra,
  message: string,
  fields: SecretField[],
): Promise<SecretAnswer> {
  if (!canAsk(mcp)) return { ok: false, why: "unsupported" };
  let result: Awaited<ReturnType<McpServer["server"]["elicitInput"]>>;
  try {
    result = await mcp.server.elicitInput(
      { mode: "form", message, requestedSchema: secretForm(fields) },
      // On the call's own stream, so that the client sees it as part of this call.
      { relatedRequestId: extra.requestId, timeout: FORM_TIMEOUT_MS, signal: extra.signal },
    );
  } catch (error) {
    if (error instanceof McpError && /timed out/i.test(error.message)) return { ok: false, why: "timed out" };
    throw error;
  }
  if (result.action === "decline") return { ok: false, why: "declined" };
  if (result.action !== "accept") return { ok: false, why: "cancelled" };
  const values: Record<string, string> = {};
  for (const field of fields) {
    const value = result.content?.[field.name];
    if (typeof value === "string" && value !== "") values[field.name] = value;
  }
  const missing = fields.filter((field) => field.required && !(field.name in values));
  return missing.length === 0 ? { ok: true, values } : { ok: false, why: "cancelled" };
}

/** Why nothing was stored, in words, for a refusal. */
export function notAnswered(why: Exclude<SecretAnswer, { ok: true }>["why"]): string {
  switch (why) {
    case "declined":
      return "the user declined to give the value, so nothing was stored";
    case "cancelled":
      return "the user closed the form without giving every required value, so nothing was stored";
    case "timed out":
      return `nobody filled in the form within ${FORM_TIMEOUT_MS / 60_000} minutes, so nothing was stored`;
    case "unsupported":
      return "this MCP client cannot show a form (it did not declare elicitation), so the value cannot be asked for here without passing through the conversation";
  }
}
