import { describe, expect, it } from "vitest";
import { declaredScopes, type Manifest, manifest } from "../src/index.ts";

// Step-up scopes in the manifest: tools carry them, declaredScopes() sums them up for the
// authorization server and the protected resource metadata.

const tool = (name: string, scopes?: string[]) => ({
  name,
  description: "d",
  inputSchema: { type: "object" },
  ...(scopes ? { scopes } : {}),
});
const server = (tools: ReturnType<typeof tool>[]): Manifest => ({
  name: "notes",
  tools,
  resources: [],
  prompts: [],
  secrets: [],
  egress: [],
});

describe("declaredScopes", () => {
  const rows: [string, ReturnType<typeof tool>[], string[]][] = [
    ["no tools", [], []],
    ["tools without scopes", [tool("a"), tool("b")], []],
    ["one tool's scopes, sorted", [tool("a", ["notes:write", "files.read"])], ["files.read", "notes:write"]],
    [
      "scopes shared by tools, once each",
      [tool("a", ["notes:write"]), tool("b"), tool("c", ["notes:read", "notes:write"])],
      ["notes:read", "notes:write"],
    ],
    // A manifest the compiler did not check (a stored row edited by hand, say) still cannot
    // make the base scope or an OpenID scope look like a tool's.
    [
      "never mcp:tools, an mcp: scope or an OpenID scope",
      [tool("a", ["mcp:tools", "mcp:x", "openid", "email", "b"])],
      ["b"],
    ],
    ["never a malformed scope", [tool("a", ["Notes", "notes write", "", "ok"])], ["ok"]],
  ];
  it.each(rows)("of %s", (_name, tools, expected) => {
    expect(declaredScopes(server(tools))).toEqual(expected);
  });

  it("does not change the manifest it reads", () => {
    const scopes = ["b", "a"];
    const input = server([tool("t", scopes)]);
    declaredScopes(input);
    expect(input.tools[0]?.scopes).toEqual(["b", "a"]);
  });
});

describe("a manifest with scopes", () => {
  it("survives a round trip through JSON (how versions are stored) unchanged", () => {
    const original = server([tool("read"), tool("write", ["notes:write", "notes:read"])]);
    const parsed = manifest.parse(JSON.parse(JSON.stringify(original)));
    expect(parsed).toEqual(original);
    expect(parsed.tools[0]).not.toHaveProperty("scopes");
    expect(declaredScopes(parsed)).toEqual(["notes:read", "notes:write"]);
  });

  it.each([
    ["a malformed scope", ["Notes:Write"]],
    ["the base scope", ["mcp:tools"]],
    ["an OpenID scope", ["offline_access"]],
    ["more than five", ["a", "b", "c", "d", "e", "f"]],
  ])("is refused with %s", (_name, scopes) => {
    const result = manifest.safeParse(server([tool("t", scopes)]));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.slice(0, 3)).toEqual(["tools", 0, "scopes"]);
  });
});
