import {
  BASE_SCOPE,
  MAX_SERVER_SCOPES,
  MAX_TOOL_SCOPES,
  OIDC_SCOPES,
  type ServerSource,
  TOOL_SCOPE,
} from "@isola/schema";

/**
 * The step-up scopes tools declare (`tool({ scopes: [...] })`): what a scope may be, and how
 * many. Scopes reach a consent screen, every token's `scope` claim and `WWW-Authenticate`
 * challenges, so they are plain words; the ones the platform and OpenID Connect own are refused.
 */

export interface ScopeProblem {
  /** Where, for the message: `tool notes.write scopes.0 "Notes"`. */
  where: string;
  message: string;
  /** The declared scope, to find in the source for a file and line. */
  literal?: string;
}

/** Why a tool may not require `scope`, in words; undefined when it may. */
export function scopeRefusal(scope: string): string | undefined {
  if (scope === BASE_SCOPE)
    return `every token carries ${BASE_SCOPE} already: list only the scopes the tool needs besides it`;
  if (scope.startsWith("mcp:")) return 'scopes starting with "mcp:" are reserved for Isola';
  if (OIDC_SCOPES.includes(scope))
    return `${scope} is an OpenID Connect scope, which the authorization server grants for itself: a tool cannot require it`;
  if (!TOOL_SCOPE.test(scope))
    return 'scopes are 1-64 characters of a-z 0-9 _ . : -, starting with a letter (e.g. "notes:write")';
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Checks every tool's `scopes` in the raw manifest (JSON from the isolate: its shape is not trusted). */
export function checkToolScopes(raw: unknown): ScopeProblem[] {
  const tools = isObject(raw) ? raw.tools : undefined;
  if (!Array.isArray(tools)) return [];
  const problems: ScopeProblem[] = [];
  const distinct = new Set<string>();
  for (const tool of tools) {
    if (!isObject(tool) || tool.scopes === undefined) continue;
    const name = String(tool.name).slice(0, 140);
    const scopes = tool.scopes;
    if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== "string")) {
      problems.push({ where: `tool ${name} scopes`, message: 'must be an array of strings, e.g. ["notes:write"]' });
      continue;
    }
    if (scopes.length > MAX_TOOL_SCOPES) {
      const message = `a tool requires at most ${MAX_TOOL_SCOPES} scopes (this one lists ${scopes.length})`;
      problems.push({ where: `tool ${name} scopes`, message });
    }
    const seen = new Set<string>();
    scopes.forEach((scope: string, index) => {
      const where = `tool ${name} scopes.${index} ${JSON.stringify(scope).slice(0, 140)}`;
      const refusal = scopeRefusal(scope);
      if (refusal) problems.push({ where, message: refusal, literal: scope });
      else if (seen.has(scope)) problems.push({ where, message: "the scope is listed twice", literal: scope });
      else distinct.add(scope);
      seen.add(scope);
    });
  }
  if (distinct.size > MAX_SERVER_SCOPES) {
    const message = `the tools require ${distinct.size} different scopes (at most ${MAX_SERVER_SCOPES} per server)`;
    problems.push({ where: "the server", message });
  }
  return problems;
}

/**
 * Where a declared scope is written: the first string literal of exactly that text in the
 * tenant's files (1-based line and column, in UTF-16 code units as editors count). A scope
 * built at run time is found nowhere: then the diagnostic has no position, like other
 * manifest problems.
 */
export function locateLiteral(files: ServerSource, text: string): { file: string; line: number; column: number } {
  for (const [file, source] of Object.entries(files)) {
    const found = ['"', "'", "`"]
      .map((quote) => source.indexOf(`${quote}${text}${quote}`))
      .filter((index) => index >= 0);
    if (found.length === 0) continue;
    const index = Math.min(...found);
    const before = source.slice(0, index).split("\n");
    return { file, line: before.length, column: (before.at(-1) ?? "").length + 1 };
  }
  return { file: "", line: 0, column: 0 };
}
