import { describe, expect, it } from "vitest";
import { layoutShift, loadedFonts, screenshot, useBrowser } from "./support/browser.ts";
import { PASSWORD, useIsola } from "./support/isola.ts";

// A person's first visit, in a real browser: the landing page, a sign-up the form refuses, one it
// accepts, the dashboard, signing out, the way back in.

const api = useIsola();

const browser = useBrowser();

describe("signing up and in", () => {
  it("landing -> refused sign-up -> sign-up -> dashboard -> sign out -> sign in", async () => {
    const page = browser.page();
    const email = `browser-${Date.now()}@example.com`;

    await page.goto(api.url);
    await page.getByRole("heading", { level: 1, name: "Describe a tool. Get a hosted MCP server." }).waitFor();
    expect(await page.getByText(`${api.url}/weather/mcp`).count()).toBe(1);
    await screenshot(page, "landing");

    await page.getByRole("banner").getByRole("link", { name: "Sign up" }).click();
    await page.waitForURL(`${api.url}/signup`);
    await page.getByLabel("Email").fill("not-an-email");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    const emailField = page.getByLabel("Email");
    await expect.poll(() => emailField.getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#field-email-error").textContent()).toBe("Invalid email address");
    expect(await emailField.getAttribute("aria-describedby")).toBe("field-email-error");
    await screenshot(page, "signup-refused");

    await emailField.fill(email);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(`${api.url}/dashboard`);
    expect(await page.getByTestId("dashboard-email").textContent()).toBe(email);
    await page.getByRole("status").getByText("Your account is ready.").waitFor();
    await screenshot(page, "dashboard");

    await page.locator("summary").click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${api.url}/signin`);
    await page.getByRole("status").getByText("You are signed out.").waitFor();

    await page.goto(`${api.url}/dashboard`);
    await page.waitForURL(`${api.url}/signin?next=%2Fdashboard`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("Email or password is wrong").waitFor();
    await screenshot(page, "signin-refused");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${api.url}/dashboard`);
    expect(await page.getByTestId("dashboard-email").textContent()).toBe(email);
  });

  it("works without JavaScript: forms post as documents", async () => {
    const { email } = await api.signup();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${api.url}/signin?next=%2Fdashboard`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${api.url}/dashboard`);
    expect(await page.getByTestId("dashboard-email").textContent()).toBe(email);
  });

  it("loads everything from this site, Geist fonts included, and nothing moves as they arrive", async () => {
    const page = browser.page();
    const hosts = new Set<string>();
    page.on("request", (request) => hosts.add(new URL(request.url()).origin));
    await page.goto(api.url);
    expect((await loadedFonts(page, ["14px Geist", "14px 'Geist Mono'"])).sort()).toEqual(["Geist", "Geist Mono"]);
    expect([...hosts]).toEqual([api.url]);
    expect(await layoutShift(page)).toBe(0);
  });

  it("shows the 404 page in words, with a way home", async () => {
    const page = browser.page();
    const response = await page.goto(`${api.url}/no/such/page`);
    expect(response?.status()).toBe(404);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await page.getByRole("main").getByRole("link", { name: "Home" }).waitFor();
    await screenshot(page, "not-found");
  });
});
