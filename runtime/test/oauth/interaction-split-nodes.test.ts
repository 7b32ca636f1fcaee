// The sign-in and consent pages are the web role's: a node with only the control role passes
// /oauth/interaction/* on (no page of its own: a proxy must send those URLs to a web node), and a
// web-only node shows them from the control node's API (ISOLA_CONTROL_URL), the browser's
// interaction cookie forwarded.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Api, deployHello, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { OAuthAgent } from "../support/oauth-agent.ts";
import { authorizationUrl, pkce, registerPublicClient } from "../support/oauth-client.ts";

let control: Api;
let web: Api;
beforeAll(async () => {
  control = await startApi(quickDatabase(), { ISOLA_ROLES: "control" }, { listen: true });
  web = await startApi(quickDatabase(), { ISOLA_ROLES: "web", ISOLA_CONTROL_URL: control.url }, { listen: true });
}, 120_000);
afterAll(async () => {
  await web?.close();
  await control?.close();
});

it("a control-only node has no sign-in page; a web-only node shows it from the control node's API", async () => {
  const issuer = `${control.url}/oauth`;
  const slug = await deployHello(control.admin, "split-notes", { authMode: "oauth" });
  const client = await registerPublicClient(issuer, { client_name: "Split Desktop" });
  const agent = new OAuthAgent();
  const started = await agent.request(
    "GET",
    authorizationUrl(issuer, {
      client,
      challenge: pkce().challenge,
      resource: `${control.url}/${slug}/mcp`,
      scope: "mcp:tools",
    }),
  );
  const page = new URL(started.headers.get("location") ?? "", issuer);
  expect(page.pathname).toMatch(/^\/oauth\/interaction\/[A-Za-z0-9_-]+$/);

  // The control node passes the URL on; without a web role, nothing answers it.
  const onControl = await agent.request("GET", page);
  expect(onControl.status).toBe(404);
  expect(onControl.headers.get("content-type")).toMatch(/^application\/json/);

  // The web node, with the browser's cookies for that page (as a proxy in front of both would send them).
  const cookie = agent.jar.header(page) ?? "";
  expect(cookie).toContain("isola_oauth_interaction=");
  const onWeb = await fetch(`${web.url}${page.pathname}`, { headers: { cookie } });
  const body = await onWeb.text();
  expect(onWeb.status, body.slice(0, 300)).toBe(200);
  expect(body).toContain("<h1>Sign in to Isola</h1>");
  expect(body).toContain("Split Desktop");
  expect(body).not.toMatch(/<script/i);
});
