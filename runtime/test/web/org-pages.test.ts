import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type Client, deployHello } from "../support/api-harness.ts";
import { openSession, send } from "../support/mcp.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { PASSWORD, submitSignIn, submitSignUp, useIsola } from "./support/isola.ts";

// The org pages in a real browser, against a real Isola: members and an invitation accepted
// through its link, personal access tokens shown once, usage counted from real tool calls, the
// audit log's filters, and the org's model key.

const api = useIsola();
let owner: { session: Client; org: string; email: string };
let ownerToken: Client;
beforeAll(async () => {
  owner = await api.signup(undefined, PASSWORD);
  ownerToken = await api.tokenFor(owner.session);
}, 120_000);

const browser = useBrowser();

async function signInAt(page: Page, path: string, email: string): Promise<void> {
  await page.goto(`${api.url}/signin?next=${encodeURIComponent(path)}`);
  await submitSignIn(page, email);
  await page.waitForURL(`${api.url}${path}`);
}

const memberRow = (page: Page, email: string) => page.locator(`tr[data-email="${email}"]`);

describe("members and invitations", () => {
  it("invite on the page -> the invitee accepts through the link -> the owner changes their role -> removes them", async () => {
    const page = browser.page();
    const org = owner.org;
    await signInAt(page, `/orgs/${org}/invitations`, owner.email);

    await page.getByLabel("Email").fill("nobody");
    await page.getByRole("button", { name: "Create invitation" }).click();
    await page.locator("#field-email-error").getByText("Invalid email address").waitFor();

    const invitee = `teammate-${Date.now()}@example.com`;
    await page.getByLabel("Email").fill(invitee);
    await page.getByLabel("Role").selectOption("member");
    await page.getByRole("button", { name: "Create invitation" }).click();
    const shown = page.getByTestId("invitation-link");
    await shown.waitFor();
    const link = (await shown.locator("pre").textContent()) as string;
    expect(link).toMatch(new RegExp(`^${api.url}/invitations/isola_inv_`));
    await shown.getByRole("button", { name: "Copy Invitation link" }).waitFor();
    expect(await page.getByTestId("invitations").getByRole("cell", { name: invitee, exact: true }).count()).toBe(1);
    await screenshot(page, "org-invitations");

    // The invitee, in a browser of their own: sign up from the link, come back, accept.
    const theirs = await (await browser.newContext()).newPage();
    await theirs.goto(link);
    await theirs.getByRole("main").getByRole("link", { name: "Create an account" }).click();
    await submitSignUp(theirs, invitee);
    await theirs.waitForURL(link);
    await theirs.getByRole("button", { name: "Accept the invitation" }).click();
    await theirs.waitForURL(`${api.url}/orgs/${org}`);
    // A member sees the list, may not change roles, and has no Invitations or Audit tab.
    await theirs.getByText("Only admins and owners change roles or remove members.").waitFor();
    expect(await theirs.getByRole("combobox").count()).toBe(0);
    expect(await theirs.getByRole("navigation", { name: "Org" }).getByRole("link").allTextContents()).toEqual([
      "Members",
      "Access tokens",
      "Plan and usage",
      "Model key",
    ]);
    await screenshot(theirs, "org-members-as-member");

    await page.goto(`${api.url}/orgs/${org}`);
    const row = memberRow(page, invitee);
    await row.getByRole("combobox").selectOption("admin");
    await row.getByRole("button", { name: "Change role" }).click();
    await page.getByRole("status").getByText(`${invitee} is now admin.`).waitFor();
    const members = await owner.session.get(`orgs/${org}/members`);
    const member = members.body.items.find((m: { email: string }) => m.email === invitee);
    expect(member.role).toBe("admin");
    await screenshot(page, "org-members");

    // Someone else changes the role while this page is open: the page's change is refused, in words.
    await owner.session.patch(
      `orgs/${org}/members/${member.userId}`,
      { role: "viewer" },
      { "if-match": `"r${member.revision}"` },
    );
    await row.getByRole("combobox").selectOption("member");
    await row.getByRole("button", { name: "Change role" }).click();
    await page.getByRole("alert").getByText("The resource changed since you read it").waitFor();
    expect((await owner.session.get(`orgs/${org}/members/${member.userId}`)).body.role).toBe("viewer");

    await page.reload();
    await memberRow(page, invitee).getByText("Remove", { exact: true }).click();
    await memberRow(page, invitee).getByRole("button", { name: "Yes, remove" }).click();
    await page.getByRole("status").getByText(`${invitee} was removed from ${org}.`).waitFor();
    expect(await memberRow(page, invitee).count()).toBe(0);
  });
});

describe("personal access tokens", () => {
  it("a token is shown once, works, and stops working when revoked on the page", async () => {
    const page = browser.page();
    await signInAt(page, `/orgs/${owner.org}/tokens`, owner.email);
    await page.getByLabel("Name").fill("ci-deploys");
    await page.getByLabel("Expires in (days)").fill("0");
    await page.getByRole("button", { name: "Create token" }).click();
    await page.locator("#field-expiresInDays-error").getByText("at least 1 day").waitFor();

    await page.getByLabel("Expires in (days)").fill("30");
    await page.getByRole("button", { name: "Create token" }).click();
    const created = page.getByTestId("created-token");
    await created.waitFor();
    const token = (await created.locator("pre").textContent()) as string;
    expect(token).toMatch(/^isola_pat_/);
    await screenshot(page, "org-tokens-created");
    const bearer = { authorization: `Bearer ${token}` };
    expect((await api.anonymous.get("me", bearer)).status).toBe(200);

    await page.reload();
    expect(await page.content()).not.toContain(token);
    const row = page.locator('tr[data-name="ci-deploys"]');
    expect(await row.getByTestId("token-status").textContent()).toBe("Active");
    await row.getByText("Revoke", { exact: true }).click();
    await row.getByRole("button", { name: "Yes, revoke" }).click();
    await page.getByRole("status").getByText("The token ci-deploys was revoked: it stops working at once.").waitFor();
    expect(await row.getByTestId("token-status").textContent()).toBe("Revoked");
    expect((await api.anonymous.get("me", bearer)).status).toBe(401);
    await screenshot(page, "org-tokens");
  });
});

describe("plan and usage", () => {
  it("counts real tool calls against the plan's quota, per server, by month", async () => {
    const slug = await deployHello(ownerToken, `usage-${Date.now().toString(36)}`);
    const url = `${api.url}/${slug}/mcp`;
    const { headers } = await openSession(url);
    for (let id = 1; id <= 3; id += 1) {
      const called = await send(url, {
        headers,
        body: { jsonrpc: "2.0", id, method: "tools/call", params: { name: "hello", arguments: { name: "web" } } },
      });
      expect(called.status).toBe(200);
    }
    const page = browser.page();
    await signInAt(page, `/orgs/${owner.org}/usage`, owner.email);
    // Usage is written in batches (every 5 s): reload until the calls are in.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page
            .locator(`tr[data-slug="${slug}"]`)
            .getByTestId("server-calls")
            .textContent({ timeout: 500 })
            .catch(() => null);
        },
        { timeout: 15_000, interval: 1000 },
      )
      .toBe("3");
    expect(await page.getByTestId("calls-used").textContent()).toBe("3");
    const bar = page.getByRole("progressbar");
    expect(await bar.getAttribute("aria-valuenow")).toBe("3");
    expect(Number(await bar.getAttribute("aria-valuemax"))).toBeGreaterThan(3);
    expect(await page.getByTestId("llm-calls").textContent()).toBe("0");
    await screenshot(page, "org-usage");

    await page.getByRole("link", { name: /^← / }).click();
    await page.waitForURL(/\/usage\?month=\d{4}-\d{2}$/);
    // The URL moves first; React commits the new month's data just after.
    await expect.poll(() => page.getByTestId("calls-used").textContent()).toBe("0");
    await page.getByText("No tool calls this month.").waitFor();

    await page.goto(`${api.url}/orgs/${owner.org}/usage?month=2999-01`);
    expect(await page.getByRole("alert").textContent()).toContain("The request is not valid");
  });
});

describe("the audit log", () => {
  it("filters live in the URL and narrow the list; a bad filter is named next to its field", async () => {
    const page = browser.page();
    await signInAt(page, `/orgs/${owner.org}/audit`, owner.email);
    const actions = page.getByTestId("audit-action");
    await actions.first().waitFor();
    const all = await actions.allTextContents();
    expect(new Set(all.map((action) => action.split(".")[0])).size).toBeGreaterThan(1);
    await screenshot(page, "org-audit");

    await page.getByLabel("Action").fill("token.");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/[?&]action=token\./);
    await expect.poll(() => actions.allTextContents()).not.toEqual(all);
    const narrowed = await actions.allTextContents();
    expect(narrowed.length).toBeGreaterThan(0);
    expect(narrowed.length).toBeLessThan(all.length);
    expect(narrowed.every((action) => action.startsWith("token."))).toBe(true);

    await page.goto(`${api.url}/orgs/${owner.org}/audit?action=Not+An+Action!`);
    expect(await page.locator("#field-action-error").textContent()).toContain("an action such as server.create");
    expect(await page.getByTestId("audit-empty").textContent()).toContain("Fix the filters");

    await page.goto(`${api.url}/orgs/${owner.org}/audit?from=2030-01-02T00:00&to=2030-01-01T00:00`);
    expect(await page.locator("#field-from-error").textContent()).toContain("from must be before to");
  });
});

describe("the org's model key", () => {
  it("is set masked, shown only as set, and removed", async () => {
    const page = browser.page();
    await signInAt(page, `/orgs/${owner.org}/model-key`, owner.email);
    expect(await page.getByTestId("model-key-state").textContent()).toContain("Not set");
    expect(await page.getByLabel("Key", { exact: true }).getAttribute("type")).toBe("password");
    await page.getByRole("button", { name: "Set key" }).click();
    await page.locator("#field-value-error").getByText("the value is empty").waitFor();

    const key = "sk-ant-web-test-0123456789";
    await page.getByLabel("Key", { exact: true }).fill(key);
    await page.getByRole("button", { name: "Set key" }).click();
    await page.getByRole("status").getByText("The org's model key is set.", { exact: false }).waitFor();
    expect(await page.getByTestId("model-key-state").textContent()).toContain("Set");
    expect(await page.content()).not.toContain(key);
    expect((await owner.session.get(`orgs/${owner.org}/model-key`)).body.set).toBe(true);
    await screenshot(page, "org-model-key");

    await page.getByText("Remove key", { exact: true }).click();
    await page.getByRole("button", { name: "Yes, remove" }).click();
    await page.getByRole("status").getByText("The org's model key was removed.").waitFor();
    expect(await page.getByTestId("model-key-state").textContent()).toContain("Not set");
    expect((await owner.session.get(`orgs/${owner.org}/model-key`)).body.set).toBe(false);
  });
});
