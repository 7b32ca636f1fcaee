// How to add a server to each MCP client, as each client's own documentation has it. Pure: the
// server page renders these, the tests check that every config parses and names the URL.
//
// OAuth servers need no secret in a snippet (the client signs the user in); API-key servers show
// where the key goes, as a placeholder the user replaces, never a real key.

export type AuthMode = "public" | "api_key" | "oauth";

export interface SnippetTarget {
  /** The server's slug: the name clients list it under. */
  slug: string;
  /** Its MCP endpoint, https://HOST/<slug>/mcp. */
  url: string;
  authMode: AuthMode;
}

export interface InstallSnippet {
  id: "claude-desktop" | "claude-code" | "cursor" | "vscode" | "chatgpt" | "curl";
  client: string;
  /** Where the snippet goes, in words. */
  where: string;
  language: "json" | "shell" | "text";
  code: string;
  /** What the user must know besides the snippet (a client that cannot send an API key, say). */
  note?: string;
}

/** What the user replaces with one of the server's API keys. */
export const KEY_PLACEHOLDER = "<your API key>";

/** `${name}` as the client expands it (an env variable for mcp-remote, an input for VS Code). */
export const clientVariable = (name: string) => `\${${name}}`;
const json = (value: unknown) => JSON.stringify(value, null, 2);
/** Single-quoted for POSIX shells: safe for any URL or header. */
const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

function claudeDesktop({ slug, url, authMode }: SnippetTarget): InstallSnippet {
  // mcp-remote bridges the config file's stdio servers to a remote HTTP one. The header goes
  // through an env variable: mcp-remote's documented way around spaces in args on Windows.
  const server =
    authMode === "api_key"
      ? {
          command: "npx",
          args: ["-y", "mcp-remote", url, "--header", `Authorization:${clientVariable("AUTH_HEADER")}`],
          env: { AUTH_HEADER: `Bearer ${KEY_PLACEHOLDER}` },
        }
      : { command: "npx", args: ["-y", "mcp-remote", url] };
  return {
    id: "claude-desktop",
    client: "Claude Desktop and claude.ai",
    where: "claude_desktop_config.json (Settings → Developer → Edit Config)",
    language: "json",
    code: json({ mcpServers: { [slug]: server } }),
    note:
      authMode === "api_key"
        ? "claude.ai's custom connectors cannot send an API key: use the config file above, or switch the server to OAuth."
        : `Or in claude.ai and Claude Desktop: Settings → Connectors → Add custom connector, with the URL ${url}`,
  };
}

function claudeCode({ slug, url, authMode }: SnippetTarget): InstallSnippet {
  const header = authMode === "api_key" ? ` --header ${shellQuote(`Authorization: Bearer ${KEY_PLACEHOLDER}`)}` : "";
  return {
    id: "claude-code",
    client: "Claude Code",
    where: "a terminal",
    language: "shell",
    code: `claude mcp add --transport http ${slug} ${shellQuote(url)}${header}`,
    ...(authMode === "oauth" ? { note: "Then run /mcp in Claude Code to sign in." } : {}),
  };
}

function cursor({ slug, url, authMode }: SnippetTarget): InstallSnippet {
  const server = authMode === "api_key" ? { url, headers: { Authorization: `Bearer ${KEY_PLACEHOLDER}` } } : { url };
  return {
    id: "cursor",
    client: "Cursor",
    where: "~/.cursor/mcp.json (all projects) or .cursor/mcp.json (this project)",
    language: "json",
    code: json({ mcpServers: { [slug]: server } }),
  };
}

function vscode({ slug, url, authMode }: SnippetTarget): InstallSnippet {
  // VS Code asks for the key once and keeps it in its secret storage: the file holds no secret.
  const inputId = `${slug}-api-key`;
  const config =
    authMode === "api_key"
      ? {
          inputs: [{ type: "promptString", id: inputId, description: `API key for ${slug}`, password: true }],
          servers: {
            [slug]: { type: "http", url, headers: { Authorization: `Bearer ${clientVariable(`input:${inputId}`)}` } },
          },
        }
      : { servers: { [slug]: { type: "http", url } } };
  return { id: "vscode", client: "VS Code", where: ".vscode/mcp.json", language: "json", code: json(config) };
}

function chatgpt({ url, authMode }: SnippetTarget): InstallSnippet {
  return {
    id: "chatgpt",
    client: "ChatGPT",
    where: "Settings → Apps & Connectors → Create (developer mode)",
    language: "text",
    code: url,
    note:
      authMode === "api_key"
        ? "ChatGPT connectors sign in with OAuth or none: they cannot send an API key. Switch the server to OAuth to use it there."
        : authMode === "oauth"
          ? "Choose OAuth as the authentication: ChatGPT registers itself and asks you to sign in."
          : "Choose no authentication.",
  };
}

function curl({ url, authMode }: SnippetTarget): InstallSnippet {
  const initialize = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "curl", version: "1.0" } },
  });
  const lines = [
    `curl -sS -X POST ${shellQuote(url)}`,
    `  -H 'Content-Type: application/json'`,
    `  -H 'Accept: application/json, text/event-stream'`,
    ...(authMode === "api_key" ? [`  -H ${shellQuote(`Authorization: Bearer ${KEY_PLACEHOLDER}`)}`] : []),
    `  -d ${shellQuote(initialize)}`,
  ];
  return {
    id: "curl",
    client: "Check with curl",
    where: "a terminal",
    language: "shell",
    code: lines.join(" \\\n"),
    note:
      authMode === "oauth"
        ? "Without a token the answer is 401 with a WWW-Authenticate header naming the server's OAuth metadata: that is the server working."
        : "The answer names the server and its protocol version.",
  };
}

/** Every client's snippet, in the order the server page shows them. */
export function installSnippets(target: SnippetTarget): InstallSnippet[] {
  return [claudeDesktop, claudeCode, cursor, vscode, chatgpt, curl].map((make) => make(target));
}
