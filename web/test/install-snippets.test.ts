// The install snippets: each client's config parses and has the shape that client reads; shell
// commands split into the arguments they mean (checked by bash itself); API-key servers show a
// placeholder where the key goes, OAuth and public ones no credential at all.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  type AuthMode,
  clientVariable,
  type InstallSnippet,
  installSnippets,
  KEY_PLACEHOLDER,
} from "../app/lib/install-snippets.ts";

const URL_ = "https://isola.example.com/weather/mcp";
const snippets = (authMode: AuthMode) => installSnippets({ slug: "weather", url: URL_, authMode });
const byId = (list: InstallSnippet[], id: InstallSnippet["id"]) => {
  const found = list.find((snippet) => snippet.id === id);
  if (!found) throw new Error(`no ${id} snippet`);
  return found;
};

/** The arguments bash splits a command into (after its first word), NUL-separated. */
function argvOf(command: string): string[] {
  const rest = command.replace(/^\S+/, "");
  const out = execFileSync("bash", ["-c", `printf '%s\\0'${rest}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("install snippets", () => {
  it("lists every client in order, each naming where the snippet goes", () => {
    const list = snippets("oauth");
    expect(list.map((s) => s.id)).toEqual(["claude-desktop", "claude-code", "cursor", "vscode", "chatgpt", "curl"]);
    for (const snippet of list) expect(snippet.where.length).toBeGreaterThan(3);
  });

  it.each(["public", "api_key", "oauth"] as const)(
    "%s: every JSON config parses and every snippet has the URL",
    (mode) => {
      for (const snippet of snippets(mode)) {
        if (snippet.language === "json") expect(() => JSON.parse(snippet.code), snippet.id).not.toThrow();
        expect(snippet.code, snippet.id).toContain(URL_);
      }
    },
  );

  it.each(["public", "oauth"] as const)("%s: no credential anywhere", (mode) => {
    for (const snippet of snippets(mode)) {
      expect(snippet.code, snippet.id).not.toMatch(/authorization|api key|AUTH_HEADER/i);
    }
  });

  it.each([
    ["oauth", { mcpServers: { weather: { url: URL_ } } }],
    ["api_key", { mcpServers: { weather: { url: URL_, headers: { Authorization: `Bearer ${KEY_PLACEHOLDER}` } } } }],
  ] as const)("cursor (%s): mcp.json with the url (and the header)", (mode, expected) => {
    expect(JSON.parse(byId(snippets(mode), "cursor").code)).toEqual(expected);
  });

  it("vs code: type http; an API key comes from a password input, never the file", () => {
    expect(JSON.parse(byId(snippets("oauth"), "vscode").code)).toEqual({
      servers: { weather: { type: "http", url: URL_ } },
    });
    const withKey = JSON.parse(byId(snippets("api_key"), "vscode").code);
    expect(withKey.servers.weather).toEqual({
      type: "http",
      url: URL_,
      headers: { Authorization: `Bearer ${clientVariable("input:weather-api-key")}` },
    });
    expect(withKey.inputs).toEqual([
      { type: "promptString", id: "weather-api-key", description: "API key for weather", password: true },
    ]);
    expect(byId(snippets("api_key"), "vscode").code).not.toContain(KEY_PLACEHOLDER);
  });

  it("claude desktop: mcp-remote in the config file; the key through an env variable", () => {
    const oauth = JSON.parse(byId(snippets("oauth"), "claude-desktop").code);
    expect(oauth).toEqual({ mcpServers: { weather: { command: "npx", args: ["-y", "mcp-remote", URL_] } } });
    expect(byId(snippets("oauth"), "claude-desktop").note).toMatch(/custom connector.*https:\/\/isola\.example\.com/);
    const keyed = JSON.parse(byId(snippets("api_key"), "claude-desktop").code).mcpServers.weather;
    expect(keyed.args).toEqual([
      "-y",
      "mcp-remote",
      URL_,
      "--header",
      `Authorization:${clientVariable("AUTH_HEADER")}`,
    ]);
    expect(keyed.env).toEqual({ AUTH_HEADER: `Bearer ${KEY_PLACEHOLDER}` });
    expect(byId(snippets("api_key"), "claude-desktop").note).toMatch(/cannot send an API key/);
  });

  it.each([
    ["oauth", ["mcp", "add", "--transport", "http", "weather", URL_]],
    [
      "api_key",
      ["mcp", "add", "--transport", "http", "weather", URL_, "--header", `Authorization: Bearer ${KEY_PLACEHOLDER}`],
    ],
  ] as const)("claude code (%s): the arguments bash passes", (mode, argv) => {
    const snippet = byId(snippets(mode), "claude-code");
    expect(snippet.code.startsWith("claude ")).toBe(true);
    expect(argvOf(snippet.code)).toEqual(argv);
  });

  it("chatgpt: the connector URL; an API-key server is told it cannot connect as is", () => {
    expect(byId(snippets("oauth"), "chatgpt")).toMatchObject({ code: URL_, note: expect.stringMatching(/OAuth/) });
    expect(byId(snippets("api_key"), "chatgpt").note).toMatch(/cannot send an API key/);
  });

  it.each(["public", "api_key", "oauth"] as const)(
    "curl (%s): a POST of initialize that bash splits as meant",
    (mode) => {
      const argv = argvOf(byId(snippets(mode), "curl").code);
      expect(argv.slice(0, 4)).toEqual(["-sS", "-X", "POST", URL_]);
      const body = JSON.parse(argv[argv.indexOf("-d") + 1] ?? "");
      expect(body).toMatchObject({ jsonrpc: "2.0", method: "initialize", params: { protocolVersion: "2025-11-25" } });
      expect(argv).toContain("Accept: application/json, text/event-stream");
      expect(argv.includes(`Authorization: Bearer ${KEY_PLACEHOLDER}`)).toBe(mode === "api_key");
    },
  );

  it("writes client variables as the clients expand them", () => {
    expect(clientVariable("AUTH_HEADER")).toBe("$" + "{AUTH_HEADER}");
  });

  it("quotes a URL with a quote in it so that bash passes it whole", () => {
    const odd = "https://h.example/it's/mcp";
    const [snippet] = installSnippets({ slug: "odd", url: odd, authMode: "oauth" }).filter(
      (s) => s.id === "claude-code",
    );
    expect(argvOf(snippet?.code ?? "").at(-1)).toBe(odd);
  });
});
