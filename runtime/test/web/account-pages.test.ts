import { describe, expect, it } from "vitest";
import { deployHello } from "../support/api-harness.ts";
import { OAuthAgent } from "../support/oauth-agent.ts";
import { authorizationUrl, exchangeCode, pkce, registerPublicClient } from "../support/oauth-client.ts";
import { callServer } from "../support/oauth-fixtures.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { PASSWORD, submitSignIn, submitSignUp, useIsola } from "./support/isola.ts";

// The public account pages in a real browser: a forgotten password reset through the link the
// server log holds (no mail transport), bad links said in words, and an invitation accepted by
// someone who had to sign up first; and the grants page, where an MCP client authorized through
// the OAuth flow is listed and revoked.

const api = useIsola();

const browser = useBrowser();
const NEW_PASSWORD = "a brand new passphrase";

/** The reset link the log mailer wrote for `email` (the one log line that holds it, on purpose). */
function resetLinkFor(email: string): string | undefined {
  const line = api.logs.filter((l) => l.includes(`password reset link for ${email}`)).at(-1);
  return line?.match(/https?:\/\/[^\s"]+\/reset-password\?token=isola_reset_[A-Za-z0-9_-]+/)?.[0];
}

describe("a forgotten password", () => {
  it("signin -> forgot -> link from the server log -> new password -> signed in with it", async () => {
    const { email } = await api.signup(undefined, PASSWORD);
    const page = browser.page();

    await page.goto(`${api.url}/signin`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.waitForURL(`${api.url}/forgot-password`);
    await page.getByLabel("Email").fill("not an email");
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.locator("#field-email-error").getByText("Invalid email address").waitFor();
    await screenshot(page, "forgot-password");

    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.getByTestId("reset-sent").waitFor();
    expect(await page.getByTestId("reset-sent").textContent()).toContain(`If an account exists for ${email}`);
    expect(await page.getByTestId("delivery-log").textContent()).toContain(
      "No mail transport is configured: the reset link was written to the server log",
    );
    await screenshot(page, "forgot-password-sent");

    const link = resetLinkFor(email);
    expect(link).toBeDefined();
    const token = new URL(link as string).searchParams.get("token") as string;
    const response = await page.goto(link as string);
    expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("New password, again").fill("something else entirely");
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.locator("#field-confirm-error").getByText("the two passwords differ").waitFor();
    await page.getByLabel("New password", { exact: true }).fill("short");
    await page.getByLabel("New password, again").fill("short");
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.locator("#field-password-error").getByText("at least 10 characters").waitFor();
    await screenshot(page, "reset-password");

    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("New password, again").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.waitForURL(`${api.url}/signin`);
    await page.getByRole("status").getByText("Your password is changed. Sign in with the new one.").waitFor();

    await submitSignIn(page, email, PASSWORD);
    await page.getByRole("alert").getByText("Email or password is wrong").waitFor();
    await submitSignIn(page, email, NEW_PASSWORD);
    await page.waitForURL(`${api.url}/dashboard`);

    // The token reached the log once: in the delivery line, never in a request line.
    expect(api.logs.filter((line) => line.includes(token))).toHaveLength(1);
    expect(api.logs.some((line) => line.includes("/reset-password?[query]"))).toBe(true);

    // A used link says so, in words, with the way to another one.
    await page.goto(link as string);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("New password, again").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.getByTestId("reset-link-invalid").waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(/The password reset link is not valid.*used/);
    await page.getByRole("link", { name: "Ask for a new link" }).waitFor();
  });

  it("says what is wrong with a mistyped link or a link without a token", async () => {
    const page = browser.page();
    await page.goto(`${api.url}/reset-password?token=isola_reset_not-a-real-one`);
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("New password, again").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Set new password" }).click();
    await page.getByTestId("reset-link-invalid").waitFor();
    expect(await page.getByRole("alert").textContent()).toContain("The password reset link is not valid");
    await screenshot(page, "reset-password-bad-link");

    await page.goto(`${api.url}/reset-password`);
    expect(await page.getByTestId("reset-no-token").textContent()).toContain("This link is incomplete");
  });
});

describe("an invitation link", () => {
  async function invite(email: string, role = "member") {
    const owner = await api.signup(undefined, PASSWORD);
    const created = await owner.session.post(`orgs/${owner.org}/invitations`, { email, role });
    expect(created.status).toBe(201);
    return { owner, link: created.body.link as string };
  }

  it("someone without an account signs up from it, comes back, accepts, and lands in the org", async () => {
    const email = `invitee-${Date.now()}@example.com`;
    const { owner, link } = await invite(email, "viewer");
    const page = browser.page();
    const response = await page.goto(link);
    expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
    await page.getByRole("heading", { name: "You are invited to an org on Isola" }).waitFor();
    await screenshot(page, "invitation-signed-out");

    await page.getByRole("main").getByRole("link", { name: "Create an account" }).click();
    await submitSignUp(page, email);
    await page.waitForURL(link);
    await page.getByRole("button", { name: "Accept the invitation" }).waitFor();
    await screenshot(page, "invitation-signed-in");
    await page.getByRole("button", { name: "Accept the invitation" }).click();
    await page.waitForURL(`${api.url}/orgs/${owner.org}`);
    await page.getByRole("status").getByText(`You joined ${owner.org} as viewer.`).waitFor();

    const members = await owner.session.get(`orgs/${owner.org}/members`);
    expect(members.body.items.find((m: { email: string }) => m.email === email)?.role).toBe("viewer");
    // The path holds the token: the request log masks it.
    const token = new URL(link).pathname.split("/").at(-1) as string;
    expect(api.logs.some((line) => line.includes(token))).toBe(false);

    // Used once: the same link says so.
    await page.goto(link);
    await page.getByRole("button", { name: "Accept the invitation" }).click();
    await page.getByRole("alert").getByText("this invitation was already used; ask for a new one").waitFor();
  });

  it("refuses, in words, an account with another email address, and a link that is not one", async () => {
    const { link } = await invite(`someone-else-${Date.now()}@example.com`);
    const other = await api.signup(undefined, PASSWORD);
    const page = browser.page();
    await page.goto(`${api.url}/signin?next=${encodeURIComponent(new URL(link).pathname)}`);
    await submitSignIn(page, other.email, PASSWORD);
    await page.waitForURL(link);
    await page.getByRole("button", { name: "Accept the invitation" }).click();
    await page.getByRole("alert").getByText("this invitation is for another email address").waitFor();
    await screenshot(page, "invitation-wrong-account");

    await page.goto(`${api.url}/invitations/accept?token=isola_inv_nonsense`);
    await page.getByRole("button", { name: "Accept the invitation" }).click();
    await page.getByRole("alert").getByText("this invitation link is not valid; ask for a new one").waitFor();
  });
});

describe("authorized apps (OAuth grants)", () => {
  it("lists a client authorized through the OAuth flow; revoking it on the page stops its token", async () => {
    const person = await api.signup(undefined, PASSWORD);
    const token = await api.tokenFor(person.session);
    const slug = `granted-${Date.now().toString(36)}`;
    await deployHello(token, slug, { authMode: "oauth" });
    const resource = `${api.url}/${slug}/mcp`;
    const issuer = `${api.url}/oauth`;
    const client = await registerPublicClient(issuer, { client_name: "Grants Page Client" });
    const { verifier, challenge } = pkce();
    const { callback } = await new OAuthAgent().authorize(
      authorizationUrl(issuer, { client, challenge, resource, scope: "mcp:tools" }),
      { email: person.email, password: PASSWORD },
    );
    const exchanged = await exchangeCode(issuer, {
      client,
      code: callback.searchParams.get("code") as string,
      verifier,
    });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    const accessToken = String(exchanged.body.access_token);
    expect((await callServer(resource, accessToken)).status).toBe(200);

    const page = browser.page();
    await page.goto(`${api.url}/signin?next=%2Faccount%2Fgrants`);
    await submitSignIn(page, person.email, PASSWORD);
    await page.waitForURL(`${api.url}/account/grants`);
    const row = page.locator('tr[data-client="Grants Page Client"]');
    await row.waitFor();
    expect(await row.getByRole("link", { name: slug }).count()).toBe(1);
    expect(await row.getByText(resource).count()).toBe(1);
    expect(await row.locator(".scope").allTextContents()).toContain("mcp:tools");
    await screenshot(page, "account-grants");

    await row.getByText("Revoke", { exact: true }).click();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await page
      .getByRole("status")
      .getByText("Grants Page Client can no longer use your servers: its tokens stopped working.")
      .waitFor();
    expect(await row.count()).toBe(0);
    await page.getByTestId("grants-empty").waitFor();
    expect((await person.session.get("me/grants")).body.items).toEqual([]);
    expect((await callServer(resource, accessToken)).status).toBe(401);
  });
});
