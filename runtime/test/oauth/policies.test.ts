// The authorization server's pure rules, case by case: which URLs name a server (resource
// indicators), whom an access policy admits, the default scope, and what the pages show.
import {
  admits,
  escapeHtml,
  parseResource,
  redirectHost,
  scopeLines,
  serverScopes,
  withDefaultScope,
} from "@isola/control/oauth";
import { describe, expect, it } from "vitest";

describe("resource indicators", () => {
  const options = { publicUrl: "https://isola.example.com", mcpDomain: "mcp.example.com" };

  it.each([
    ["https://isola.example.com/notes/mcp", { by: "slug", slug: "notes" }],
    ["https://notes.mcp.example.com/mcp", { by: "slug", slug: "notes" }],
    ["https://notes.mcp.example.com:8443/mcp", { by: "slug", slug: "notes" }],
    ["https://tools.acme.com/mcp", { by: "domain", host: "tools.acme.com" }],
  ])("%s names %j", (resource, ref) => {
    expect(parseResource(resource, options)).toEqual({ ok: true, ref });
  });

  it.each([
    ["http://isola.example.com/notes/mcp", /must be a https:\/\/ URL/],
    ["https://isola.example.com/notes/mcp/", /\/<slug>\/mcp/],
    ["https://isola.example.com/mcp", /\/<slug>\/mcp/],
    ["https://isola.example.com/Notes/mcp", /\/<slug>\/mcp/],
    ["https://isola.example.com/a/b/mcp", /\/<slug>\/mcp/],
    ["https://isola.example.com/notes/mcp?x=1", /without credentials, query or fragment/],
    ["https://isola.example.com/notes/mcp#f", /without credentials, query or fragment/],
    ["https://user@isola.example.com/notes/mcp", /without credentials/],
    ["https://ISOLA.example.com/notes/mcp", /canonical form/],
    ["https://isola.example.com:443/notes/mcp", /canonical form/],
    ["https://a.b.mcp.example.com/mcp", /names no server/],
    ["https://notes.mcp.example.com/other", /https:\/\/<host>\/mcp/],
    ["notes", /canonical form/],
  ])("%s names no server: %s", (resource, reason) => {
    const parsed = parseResource(resource, options);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });

  it("uses the public URL's scheme for every host, and no MCP domain when none is set", () => {
    const local = { publicUrl: "http://localhost:3000" };
    expect(parseResource("http://localhost:3000/notes/mcp", local)).toEqual({
      ok: true,
      ref: { by: "slug", slug: "notes" },
    });
    expect(parseResource("http://notes.mcp.example.com/mcp", local)).toEqual({
      ok: true,
      ref: { by: "domain", host: "notes.mcp.example.com" },
    });
  });

  it("grants mcp:tools and the scopes the tools declare", () => {
    const tool = (name: string, scopes?: string[]) => ({
      name,
      description: "",
      inputSchema: {},
      ...(scopes ? { scopes } : {}),
    });
    expect(serverScopes(null)).toEqual(["mcp:tools"]);
    expect(
      serverScopes({ tools: [tool("a", ["notes:write"]), tool("b", ["admin", "notes:write"]), tool("c")] }),
    ).toEqual(["mcp:tools", "admin", "notes:write"]);
  });
});

describe("access policies", () => {
  const member = { email: "member@example.com", memberOfServerOrg: true };
  const outsider = { email: "Guest@Example.com", memberOfServerOrg: false };
  it.each([
    [{ kind: "org" as const }, member, true],
    [{ kind: "org" as const }, outsider, false],
    [{ kind: "instance" as const }, outsider, true],
    [{ kind: "invite_list" as const, emails: ["guest@example.com"] }, outsider, true],
    [{ kind: "invite_list" as const, emails: ["someone@example.com"] }, outsider, false],
    [{ kind: "invite_list" as const, emails: [] }, member, true],
  ])("%j admits %j: %s", (policy, applicant, expected) => {
    expect(admits(policy, applicant)).toBe(expected);
  });
});

describe("the default scope", () => {
  it.each([
    ["?client_id=a", "mcp:tools"],
    ["?client_id=a&scope=", "mcp:tools"],
    ["?client_id=a&scope=%20", "mcp:tools"],
    ["", "mcp:tools"],
  ])("asks for mcp:tools when %j asks for nothing", (query, scope) => {
    expect(new URLSearchParams(withDefaultScope(query)).get("scope")).toBe(scope);
    expect(new URLSearchParams(withDefaultScope(query)).get("client_id")).toBe(query ? "a" : null);
  });

  it("leaves a requested scope as it is", () => {
    expect(withDefaultScope("?scope=notes%3Awrite&client_id=a")).toBe("?scope=notes%3Awrite&client_id=a");
  });
});

describe("what the consent page shows", () => {
  it.each([
    ["https://app.example.com/callback?x=1", "https://app.example.com"],
    ["http://127.0.0.1:33418/cb", "http://127.0.0.1:33418"],
    ["cursor://anysphere.cursor-retrieval/oauth/callback", "cursor://anysphere.cursor-retrieval"],
    ["com.example.app:/oauth2redirect", "com.example.app:"],
    [undefined, "unknown"],
  ])("names %s's redirect as %s", (uri, shown) => {
    expect(redirectHost(uri)).toBe(shown);
  });

  it("describes each scope the token will carry, and only those", () => {
    const server = {
      id: "s",
      slug: "notes",
      name: "Notes",
      orgId: "o",
      authMode: "oauth" as const,
      accessPolicy: { kind: "org" as const },
      scopes: ["mcp:tools", "notes:write"],
      toolsByScope: { "notes:write": ["add_note", "delete_note"] },
    };
    expect(scopeLines(["mcp:tools", "notes:write", "admin"], server)).toEqual([
      { scope: "mcp:tools", description: "connect to Notes and call its tools as you" },
      { scope: "notes:write", description: "call the tools that require it: add_note, delete_note" },
    ]);
  });

  it("escapes the five characters that matter in HTML", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
});
