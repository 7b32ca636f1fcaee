import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { openSession } from "../support/mcp.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { signUpInBrowser, useIsola } from "./support/isola.ts";

// A new account on an instance without a model key, in a real browser: the dashboard's empty
// state, the wizard refusing a bad brief and saying in words that no model is configured, a
// template deployed instead, live, and on the dashboard.

const api = useIsola();

const browser = useBrowser();

async function signUp(page: Page): Promise<string> {
  const email = `dash-${randomBytes(4).toString("hex")}@example.com`;
  await signUpInBrowser(page, api, email);
  return email;
}

describe("dashboard and templates, without a model", () => {
  it("empty dashboard -> refused briefs -> no model in words -> template deployed -> live on the dashboard", async () => {
    const page = browser.page();
    const email = await signUp(page);

    // The empty state, the quota meter and the sections.
    await page.getByTestId("servers-empty").getByText("No servers yet").waitFor();
    const meter = page.getByRole("progressbar", { name: "Tool calls this period" });
    expect(await meter.getAttribute("value")).toBe("0");
    expect(await page.getByTestId("usage-text").textContent()).toMatch(/^0 of [\d,]+ calls \(0%\)$/);
    expect(await page.getByText("Builds you start from a brief show here.").count()).toBe(1);
    const sections = page.getByRole("navigation", { name: "Sections" });
    const orgLink = await sections.getByRole("link", { name: "Org" }).getAttribute("href");
    expect(orgLink).toMatch(/^\/orgs\/[a-z0-9-]+$/);
    await screenshot(page, "dashboard-empty");

    await sections.getByRole("link", { name: "New server" }).click();
    await page.waitForURL(`${api.url}/servers/new`);
    await page.getByRole("heading", { level: 1, name: "New server" }).waitFor();
    await screenshot(page, "wizard-brief");

    // A chip fills the brief (a link with ?brief=, so it also works without JavaScript).
    const chip = page.getByRole("navigation", { name: "Example briefs" }).getByRole("link", { name: "Units" });
    expect(await chip.getAttribute("href")).toMatch(/^\/servers\/new\?brief=Convert/);
    await chip.click();
    await expect
      .poll(() => page.getByLabel("What should the server do?").inputValue())
      .toMatch(/^Convert between units/);

    // Bad input: a too-short brief and a bad slug, each next to its field.
    const brief = page.getByLabel("What should the server do?");
    await brief.fill("short");
    await page.getByLabel("Slug (optional)").fill("Bad Slug");
    await page.getByRole("button", { name: "Plan the server" }).click();
    await page.locator("#field-prompt-error").getByText("describe the server in at least 10 characters").waitFor();
    expect(await page.locator("#field-slug-error").textContent()).toMatch(/lowercase letters, digits and hyphens/);
    expect(await brief.getAttribute("aria-invalid")).toBe("true");
    await screenshot(page, "wizard-brief-errors");

    // A good brief, on an instance without a model: said in words, pointing at the templates.
    await page.getByLabel("What should the server do?").fill("Convert between units of length and weight");
    await page.getByLabel("Slug (optional)").fill("");
    await page.getByRole("button", { name: "Plan the server" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "No language model is configured on this instance" });
    await alert.waitFor();
    expect(await alert.getByRole("link", { name: "deploy one of them" }).getAttribute("href")).toBe("#templates");

    // The FAQ template: a bad slug refused next to its field, then a good one deployed.
    const faq = page
      .getByRole("listitem")
      .filter({ has: page.getByRole("heading", { name: "FAQ and knowledge base" }) });
    await faq.getByText("Deploy FAQ and knowledge base").click();
    await faq.getByLabel("Slug").fill("x");
    await faq.getByRole("button", { name: "Deploy" }).click();
    const faqAgain = page
      .getByRole("listitem")
      .filter({ has: page.getByRole("heading", { name: "FAQ and knowledge base" }) });
    await faqAgain.locator("#template-faq-slug-error").waitFor();
    expect(await faqAgain.getByLabel("Slug").getAttribute("aria-invalid")).toBe("true");
    const slug = `faq-${randomBytes(3).toString("hex")}`;
    await faqAgain.getByLabel("Slug").fill(slug);
    await faqAgain.getByRole("button", { name: "Deploy" }).click();
    await page.waitForURL(`${api.url}/servers/new?deployed=${slug}`);
    await page.getByRole("heading", { level: 1, name: "FAQ and knowledge base is live" }).waitFor();
    const url = `${api.url}/${slug}/mcp`;
    expect(await page.locator(".code", { hasText: "MCP URL" }).locator("pre").textContent()).toBe(url);
    await page.getByRole("status").getByText("FAQ and knowledge base is live.").waitFor();
    await screenshot(page, "wizard-template-live");
    // It really is live: an MCP client can start a session.
    expect((await openSession(url)).sessionId).toBeTruthy();

    // The dashboard lists it, live, linking to its page.
    await page.getByRole("link", { name: "Dashboard" }).first().click();
    await page.waitForURL(`${api.url}/dashboard`);
    expect(await page.getByTestId("dashboard-email").textContent()).toBe(email);
    const row = page.getByRole("row").filter({ hasText: slug });
    expect(await row.getByRole("link", { name: "FAQ and knowledge base" }).getAttribute("href")).toBe(
      `/servers/${slug}`,
    );
    expect(await row.locator(".pill").textContent()).toBe("Live");
    expect(await page.getByTestId("servers-empty").count()).toBe(0);
    await screenshot(page, "dashboard-servers");
  });

  it("fills the brief from an example without JavaScript, and reports a slug taken next to the field", async () => {
    const page = browser.page();
    await signUp(page);
    const context = await browser.newContext({ javaScriptEnabled: false });
    const noJs = await context.newPage();
    await context.addCookies(await page.context().cookies());
    await noJs.goto(`${api.url}/servers/new`);
    await noJs.getByRole("link", { name: "Weather" }).click();
    expect(await noJs.getByLabel("What should the server do?").inputValue()).toMatch(
      /^A server with weather forecasts/,
    );

    // A template deploy with a slug another server has: the form says so next to the slug.
    const taken = `taken-${randomBytes(3).toString("hex")}`;
    const first = await api.admin.post("templates/faq/deploy", { slug: taken });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const faq = noJs
      .getByRole("listitem")
      .filter({ has: noJs.getByRole("heading", { name: "FAQ and knowledge base" }) });
    await faq.getByText("Deploy FAQ and knowledge base").click();
    await faq.getByLabel("Slug").fill(taken);
    await faq.getByRole("button", { name: "Deploy" }).click();
    await noJs.locator("#template-faq-slug-error").waitFor();
    expect(await noJs.locator("#template-faq-slug-error").textContent()).toMatch(/taken|in use/i);
  });
});
