import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { type Api, startApi } from "../../support/api-harness.ts";
import { quickDatabase } from "../../support/mcp.ts";

// What the web app's browser tests share: one real Isola per test file, listening (the browser
// needs a port), and the ways a test page gets signed in.

export const PASSWORD = "correct horse battery";

/**
 * Registers the hooks: a real Isola (control and web roles) started before the file's tests and
 * closed after them. The object is filled in by the time a test (or a later beforeAll) runs.
 */
export function useIsola(): Api {
  const api = {} as Api;
  beforeAll(async () => {
    Object.assign(api, await startApi(quickDatabase(), {}, { listen: true }));
  }, 120_000);
  afterAll(async () => {
    await api.close?.();
  });
  return api;
}

/** Fills the sign-up form the page shows, and sends it. */
export async function submitSignUp(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
}

/** Fills the sign-in form the page shows, and sends it. */
export async function submitSignIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A new account made on the sign-up page, which lands on the dashboard. */
export async function signUpInBrowser(page: Page, api: Api, email: string): Promise<void> {
  await page.goto(`${api.url}/signup`);
  await submitSignUp(page, email);
  await page.waitForURL(`${api.url}/dashboard`);
}

/** Hands a browser context the session of an API client (its `name=value` cookie). */
export async function shareSession(context: BrowserContext, api: Api, cookie: string): Promise<void> {
  const [name = "", value = ""] = cookie.split(/=(.*)/s);
  await context.addCookies([{ name, value, url: api.url }]);
}
