import { describe, expect, it } from "vitest";
import { ownedByAnotherRole } from "../server/other-roles.ts";

describe("URLs the web app leaves to the other roles", () => {
  it.each([
    "/api",
    "/api/v2/anything",
    "/oauth",
    "/oauth/auth?client_id=x",
    "/oauth/token",
    "/oauth/interaction",
    "/.well-known/oauth-protected-resource",
    "/.well-known/security.txt",
    "/_isola/mcp",
    "/_isola/else",
    "/mcp",
    "/weather/mcp",
    "/weather/mcp?x=1",
    "/a/b/mcp",
    "/weather/sse",
    "/weather/messages",
  ])("%s is another role's", (path) => {
    expect(ownedByAnotherRole(path)).toBe(true);
  });

  it.each([
    "/",
    "/dashboard",
    "/signin?next=%2Fapi%2Fv1",
    "/servers/new",
    "/servers/weather",
    "/servers/weather/logs",
    "/orgs/acme/members",
    "/apis",
    "/oauthx",
    "/docs/mcp-guide",
    "/assets/app.css",
    // The OAuth sign-in and consent pages and their forms' posts.
    "/oauth/interaction/abc",
    "/oauth/interaction/abc/login",
    "/oauth/interaction/abc/consent?x=1",
  ])("%s is the web app's", (path) => {
    expect(ownedByAnotherRole(path)).toBe(false);
  });
});
