// Step-up scopes: a tool may require scopes besides mcp:tools (`tool({ scopes })`, in the
// manifest). What a server advertises, and what an OAuth caller lacks for a call. Pure.
import { BASE_SCOPE, declaredScopes, type Manifest, type ManifestTool } from "@isola/schema";
import type { Caller } from "../context.ts";

/** The protected resource metadata's `scopes_supported`: mcp:tools, then every scope the tools declare. */
export function supportedScopes(manifest: Pick<Manifest, "tools"> | undefined): string[] {
  return [BASE_SCOPE, ...(manifest ? declaredScopes(manifest) : [])];
}

export interface ScopeShortfall {
  tool: string;
  /** Every scope the call needs, mcp:tools first: the challenge's `scope`. */
  required: string[];
  /** Those the caller's token lacks. */
  missing: string[];
}

/**
 * What an OAuth caller's token lacks to call `tool`, or undefined when nothing. Only OAuth
 * tokens are held to a tool's scopes: an API key is issued by the server's owner for this one
 * server and stands for every tool, and a public server has no callers to tell apart.
 */
export function scopeShortfall(caller: Caller, tool: ManifestTool | undefined): ScopeShortfall | undefined {
  if (caller.kind !== "oauth" || !tool?.scopes?.length) return undefined;
  const granted = new Set(caller.user?.scopes);
  const missing = tool.scopes.filter((scope) => !granted.has(scope));
  if (missing.length === 0) return undefined;
  return { tool: tool.name, required: [...new Set([BASE_SCOPE, ...tool.scopes])], missing };
}

/** The refusal in words, naming the tool and the missing scopes. */
export function shortfallMessage(shortfall: ScopeShortfall): string {
  const scopes = `scope${shortfall.missing.length > 1 ? "s" : ""} ${shortfall.missing.join(" ")}`;
  return `the tool ${shortfall.tool} needs the ${scopes}, which the access token lacks`;
}
