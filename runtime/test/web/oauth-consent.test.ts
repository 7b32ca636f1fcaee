import { randomBytes } from "node:crypto";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InvalidGrantError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, deployHello } from "../support/api-harness.ts";
import { callServer } from "../support/oauth-fixtures.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { BrowserOAuthClient } from "./support/browser-oauth-client.ts";
import { PASSWORD, signUpInBrowser, submitSignIn, useIsola } from "./support/isola.ts";

// Issue 8's "OAuth consent flow in the browser with the SDK client waiting on the other side":
// the MCP SDK's Client, whose OAuthClientProvider hands the authorization URL to Chromium instead
// of a person. The person (an account made on the web sign-up page) signs in and allows in the
// page; the browser comes back to the client's loopback redirect URI with the code; the SDK
// finishes and calls a tool. Then another client is denied, and the first is revoked on the
// grants page, after which its next call is refused. The three cases share one browser profile
// (its cookies carried from case to case), as one person's browser would: signed in on the
// authorization server since the first case, not on the web app until the grants page.

const api = useIsola();
const browser = useBrowser();

const SERVER_NAME = "Team Hello";
const slug = `consent-${randomBytes(3).toString("hex")}`;
const email = `consent-${randomBytes(4).toString("hex")}@example.com`;
let mcpUrl: string;
let issuer: string;

/** The browser profile: cookies of the web session and of the authorization server. */
let profile: Awaited<ReturnType<BrowserContext["storageState"]>> | undefined;
/** The page the clients hand their authorization URLs to (the current case's). */
let current: Page | undefined;
const open = async (url: URL) => {
  if (!current) throw new Error("no browser page to open the authorization URL in");
  await current.goto(url.href);
};

/** The MCP requests, discovery, registration and token requests the SDK made: "POST /path [rpc] status". */
const exchanges: { line: string; challenge: string | null }[] = [];
const recordingFetch: FetchLike = async (input, init = {}) => {
  const response = await fetch(input, init);
  const rpc = typeof init.body === "string" ? (JSON.parse(init.body) as { method?: string }).method : undefined;
  exchanges.push({
    line: `${init.method ?? "GET"} ${new URL(input).pathname}${rpc ? ` ${rpc}` : ""} ${response.status}`,
    challenge: response.headers.get("www-authenticate"),
  });
  return response;
};

function mcpSession(client: BrowserOAuthClient) {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: client, fetch: recordingFetch });
  return { transport, mcp: new McpClient({ name: "consent-test", version: "1.0.0" }) };
}

/**
 * The case's page, where the clients send the person: bounded waits, so that a step that never
 * happens fails in seconds, naming what it waited for, not at the test's timeout.
 */
function usePage(page: Page): Page {
  page.setDefaultTimeout(10_000);
  current = page;
  return page;
}

/**
 * Clicks a button of an authorization page's form and waits for the answer to its post, which
 * must not be a refusal: a refused form fails here, saying so, rather than as a missing next page.
 */
async function submit(page: Page, button: string): Promise<void> {
  const answer = page.waitForResponse(
    (response) => response.request().method() === "POST" && response.url().startsWith(`${api.url}/oauth/`),
  );
  await page.getByRole("button", { name: button, exact: true }).click();
  const response = await answer;
  if (response.status() === 403 || response.status() >= 500) {
    const title = /<title>(.*?)<\/title>/.exec(await response.text().catch(() => ""))?.[1];
    const origin = await response.request().headerValue("origin");
    throw new Error(
      `the "${button}" post to ${response.url()} was refused: ${response.status()} "${title}" (the browser sent Origin: ${origin})`,
    );
  }
}

const closing: { close(): Promise<void> }[] = [];
let allowed: BrowserOAuthClient;
let allowedSession: ReturnType<typeof mcpSession>;

beforeAll(async () => {
  mcpUrl = `${api.url}/${slug}/mcp`;
  issuer = `${api.url}/oauth`;
  allowed = await BrowserOAuthClient.start({ clientName: "Browser Desktop", open });
  closing.push(allowed);
});
afterAll(async () => {
  for (const item of closing.reverse()) await item.close();
});

describe("the OAuth consent flow in the browser, the SDK client on the other side", () => {
  it("signs up on the web, deploys an oauth server; the SDK's browser signs in and allows; the SDK calls a tool", async () => {
    const page = usePage(browser.page());
    await signUpInBrowser(page, api, email);
    // The server, deployed through the API as the browser's own account (its session cookie).
    const cookie = (await page.context().cookies(api.url)).find((c) => c.name === "isola_session");
    if (!cookie) throw new Error("the web sign-up set no isola_session cookie");
    const me = await new Client(api.app, { cookie: `${cookie.name}=${cookie.value}` }).get("me");
    const session = new Client(api.app, {
      cookie: `${cookie.name}=${cookie.value}`,
      "x-csrf-token": me.body.csrfToken,
    });
    await deployHello(await api.tokenFor(session), slug, { name: SERVER_NAME, authMode: "oauth" });
    // The person comes back later, signed out: the MCP client is what brings them.
    await page.context().clearCookies();

    const first = mcpSession(allowed);
    await expect(first.mcp.connect(first.transport)).rejects.toThrow(UnauthorizedError);
    expect(exchanges.map((exchange) => exchange.line)).toEqual([
      `POST /${slug}/mcp initialize 401`,
      `GET /.well-known/oauth-protected-resource/${slug}/mcp 200`,
      "GET /.well-known/oauth-authorization-server/oauth 200",
      "POST /oauth/reg 201",
    ]);
    const [authorization] = allowed.authorizations;
    expect(Object.fromEntries(authorization?.searchParams ?? [])).toMatchObject({
      response_type: "code",
      client_id: allowed.clientInformation()?.client_id,
      redirect_uri: allowed.redirectUrl,
      code_challenge_method: "S256",
      resource: mcpUrl,
      scope: "mcp:tools",
    });

    // The browser is at the sign-in page, which says who asks for what.
    expect(page.url()).toMatch(new RegExp(`^${api.url}/oauth/interaction/[A-Za-z0-9_-]+$`));
    await page.getByRole("heading", { level: 1, name: "Sign in to Isola" }).waitFor();
    await page.getByText(`Browser Desktop asks to use ${SERVER_NAME} on your behalf.`).waitFor();
    // The web app's page, without one script: none in the HTML, none run (its CSP allows none).
    expect(await page.locator("script").count()).toBe(0);
    const served = await page.request.get(page.url());
    expect(await served.text()).not.toMatch(/<script/i);
    expect(served.headers()["content-security-policy"]).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
    await screenshot(page, "oauth-sign-in");

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await submit(page, "Sign in");
    // The message by the password field (announced with it), the email kept, the password not.
    const password = page.getByLabel("Password", { exact: true });
    await page.locator("#field-password-error").getByText("Email or password is wrong.").waitFor();
    expect(await password.getAttribute("aria-invalid")).toBe("true");
    expect(await password.getAttribute("aria-describedby")).toBe("field-password-error");
    expect(await password.inputValue()).toBe("");
    expect(await page.getByLabel("Email").inputValue()).toBe(email);
    expect(await page.locator("script").count()).toBe(0);
    await screenshot(page, "oauth-sign-in-wrong-password");
    await password.fill(PASSWORD);
    await submit(page, "Sign in");

    // The consent page names the client, the server and what the scope lets the client do, in words.
    await page.getByRole("heading", { level: 1, name: `Allow Browser Desktop to use ${SERVER_NAME}?` }).waitFor();
    const consent = page.getByRole("main");
    await consent
      .getByRole("listitem")
      .filter({ hasText: `mcp:tools: connect to ${SERVER_NAME} and call its tools as you` })
      .waitFor();
    expect(await consent.getByRole("listitem").count()).toBe(1);
    await consent.getByText(mcpUrl, { exact: true }).waitFor();
    await consent.getByText(allowed.clientInformation()?.client_id ?? "(no client id)", { exact: true }).waitFor();
    await consent.getByText(new URL(allowed.redirectUrl).origin, { exact: true }).waitFor();
    await consent.getByText(email, { exact: true }).waitFor();
    expect(await page.getByLabel("Password", { exact: true }).count()).toBe(0);
    expect(await page.locator("script").count()).toBe(0);
    await screenshot(page, "oauth-consent");
    const consentUrl = page.url();

    await submit(page, "Allow");
    const callback = await allowed.nextCallback("after Allow on the consent page");
    expect(callback.searchParams.get("state")).toBe(allowed.lastState);
    expect(callback.searchParams.get("iss")).toBe(issuer);
    expect(callback.searchParams.get("error")).toBeNull();
    const code = callback.searchParams.get("code");
    if (!code) throw new Error(`the browser came back without a code: ${callback.href}`);
    await page.getByRole("heading", { name: "You can close this window." }).waitFor();
    // The finished interaction's page, opened again: expired, in words.
    const again = await page.context().newPage();
    await again.goto(consentUrl);
    await again.getByRole("heading", { level: 1, name: "This sign-in has expired" }).waitFor();
    await again.getByText("Go back to the application and connect again.", { exact: false }).waitFor();
    await screenshot(again, "oauth-expired");
    await again.close();

    await first.transport.finishAuth(code);
    expect(exchanges.at(-1)?.line).toBe("POST /oauth/token 200");
    expect(allowed.tokens()).toMatchObject({ token_type: "Bearer", scope: "mcp:tools" });

    allowedSession = mcpSession(allowed);
    closing.push(allowedSession.mcp);
    await allowedSession.mcp.connect(allowedSession.transport);
    const { tools } = await allowedSession.mcp.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["hello"]);
    const result = await allowedSession.mcp.callTool({ name: "hello", arguments: { name: "Browser" } });
    expect(result.content).toEqual([{ type: "text", text: "Hello, Browser!" }]);

    profile = await page.context().storageState();
  });

  it("Deny sends the browser back with error=access_denied, and the client gets no token", async () => {
    if (!profile) throw new Error("the first case did not finish: no signed-in browser");
    const page = usePage(await (await browser.newContext({ storageState: profile })).newPage());
    const denied = await BrowserOAuthClient.start({ clientName: "Denied Desktop", open });
    closing.push(denied);

    const session = mcpSession(denied);
    await expect(session.mcp.connect(session.transport)).rejects.toThrow(UnauthorizedError);
    // Signed in on the authorization server already: straight to the consent page.
    await page.getByRole("heading", { level: 1, name: `Allow Denied Desktop to use ${SERVER_NAME}?` }).waitFor();
    expect(await page.getByLabel("Password", { exact: true }).count()).toBe(0);

    await submit(page, "Deny");
    const callback = await denied.nextCallback("after Deny on the consent page");
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe(denied.lastState);
    expect(callback.searchParams.get("iss")).toBe(issuer);
    expect(callback.searchParams.has("code")).toBe(false);
    expect(denied.tokens()).toBeUndefined();
    // Nor does a code it makes up.
    await expect(session.transport.finishAuth("not-a-code")).rejects.toBeInstanceOf(InvalidGrantError);
    expect(exchanges.at(-1)?.line).toBe("POST /oauth/token 400");
    expect(denied.tokens()).toBeUndefined();
  });

  it("lists the allowed client on the grants page; revoking it there makes the client's next call a 401", async () => {
    if (!profile || !allowedSession) throw new Error("the first case did not finish: no client to revoke");
    const page = usePage(await (await browser.newContext({ storageState: profile })).newPage());
    const accessToken = allowed.tokens()?.access_token ?? "";
    expect((await callServer(mcpUrl, accessToken)).status).toBe(200);

    await page.goto(`${api.url}/account/grants`);
    await page.waitForURL(`${api.url}/signin?next=%2Faccount%2Fgrants`);
    await submitSignIn(page, email);
    await page.waitForURL(`${api.url}/account/grants`);
    await page.getByRole("heading", { level: 1, name: "Authorized apps" }).waitFor();
    const row = page.getByRole("row").filter({ hasText: "Browser Desktop" });
    await row.waitFor();
    expect(await row.getByRole("link", { name: slug }).count()).toBe(1);
    expect(await row.getByText(mcpUrl, { exact: true }).count()).toBe(1);
    expect(await row.getByText("mcp:tools", { exact: true }).count()).toBe(1);
    // The denied client was never granted anything.
    expect(await page.getByRole("row").filter({ hasText: "Denied Desktop" }).count()).toBe(0);

    await row.getByText("Revoke", { exact: true }).click();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await page
      .getByRole("status")
      .getByText("Browser Desktop can no longer use your servers: its tokens stopped working.")
      .waitFor();
    await page.getByText("You have not authorized any MCP client.").waitFor();

    // The SDK client's next call: 401 invalid_token, its refresh refused, and it has to ask the
    // person again, whose browser shows the consent page anew (the revoked consent is gone).
    const start = exchanges.length;
    await expect(allowedSession.mcp.callTool({ name: "hello", arguments: { name: "again" } })).rejects.toThrow(
      UnauthorizedError,
    );
    const after = exchanges.slice(start);
    expect(after[0]?.line).toBe(`POST /${slug}/mcp tools/call 401`);
    expect(after[0]?.challenge).toContain('error="invalid_token"');
    expect(after.map((exchange) => exchange.line)).toContain("POST /oauth/token 400");
    expect(allowed.tokens()).toBeUndefined();
    expect(allowed.authorizations).toHaveLength(2);
    await page.getByRole("heading", { level: 1, name: `Allow Browser Desktop to use ${SERVER_NAME}?` }).waitFor();
    expect((await callServer(mcpUrl, accessToken)).status).toBe(401);
  });
});
