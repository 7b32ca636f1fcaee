import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startBuildApi, startModel } from "../builds/build-harness.ts";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { signUpInBrowser } from "./support/isola.ts";

// The wizard with a model (the fake Anthropic API answering recorded messages), in a real
// browser: a brief, the plan to confirm, the build streaming to live, a reload in the middle
// that picks the stream up where it was, and a plan's secret refused when left out.

let fake: FakeAnthropic;
let api: Api;
beforeAll(async () => {
  fake = await startModel();
  api = await startBuildApi();
}, 120_000);
afterAll(async () => {
  await api?.close();
  await fake?.close();
});
beforeEach(() => {
  expect(fake.pending()).toBe(0);
});

const browser = useBrowser();

async function signUp(page: Page): Promise<void> {
  await signUpInBrowser(page, api, `wizard-${randomBytes(4).toString("hex")}@example.com`);
}

async function submitBrief(page: Page, brief: string, slug: string): Promise<string> {
  await page.goto(`${api.url}/servers/new`);
  await page.getByLabel("What should the server do?").fill(brief);
  await page.getByLabel("Slug (optional)").fill(slug);
  await page.getByRole("button", { name: "Plan the server" }).click();
  await page.waitForURL(/\/servers\/new\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname.split("/").at(-1) as string;
}

/** The build's status as the API tells the signed-in browser. */
async function buildStatus(page: Page, id: string): Promise<string> {
  const response = await page.request.get(`${api.url}/api/v1/builds/${id}`);
  return ((await response.json()) as { status: string }).status;
}

/** Waits for the page's heading; a timeout says where the build and the page were. */
async function heading(page: Page, name: string, timeout = 20_000): Promise<void> {
  try {
    await page.getByRole("heading", { level: 1, name }).waitFor({ timeout });
  } catch (error) {
    const id = new URL(page.url()).pathname.split("/").at(-1) as string;
    const shown = await page.getByRole("heading", { level: 1 }).textContent();
    const log = await logLines(page).catch(() => []);
    throw new Error(
      `no "${name}" heading: the page shows "${shown}", the build is ${await buildStatus(page, id)}, its log: ${JSON.stringify(log)} (${(error as Error).message.split("\n")[0]})`,
    );
  }
}

/** The log's lines as the page shows them. */
const logLines = (page: Page) =>
  page.getByRole("log", { name: "Build events" }).locator(":scope > li").allTextContents();

describe("the wizard, from a brief to a live server", () => {
  it("brief -> plan -> answer and approve -> build streams (reload in the middle resumes) -> live", async () => {
    const page = browser.page();
    await signUp(page);
    const slug = `weather-${randomBytes(3).toString("hex")}`;
    fake.queue(answer.slow(600, answer.message("plan-weather")));
    await submitBrief(page, "A server with weather forecasts for any city", slug);

    // The plan arrives through the stream; the page then shows it to confirm.
    await heading(page, "Confirm the plan", 20_000);
    expect(await page.getByRole("cell", { name: "find_city" }).count()).toBe(1);
    expect(await page.getByRole("cell", { name: "get_forecast" }).count()).toBe(1);
    const question = page.getByLabel("Should temperatures be in Celsius or Fahrenheit by default?");
    expect(await page.getByText("Left empty: Celsius, with a units input to ask for Fahrenheit").count()).toBe(1);
    expect(await page.getByText("OAuth: MCP clients sign users in with their Isola account").count()).toBe(1);
    await question.fill("metric");
    const hosts = ["geocoding-api.open-meteo.com", "api.open-meteo.com"];
    for (const host of hosts)
      expect(await page.getByRole("checkbox", { name: host, exact: true }).isChecked()).toBe(false);
    await screenshot(page, "wizard-plan");
    for (const host of hosts) await page.getByRole("checkbox", { name: host, exact: true }).check();

    // The code comes slowly: the page streams meanwhile, and a reload picks up where it was.
    fake.queue(answer.slow(2500, answer.message("code-weather")));
    await page.getByRole("button", { name: "Confirm and build" }).click();
    await heading(page, "Building your server");
    await page.getByRole("status").getByText("Plan confirmed: writing the code.").waitFor();
    await page.getByRole("log", { name: "Build events" }).getByText("Writing the code").waitFor();
    await screenshot(page, "wizard-build");
    await page.reload();
    const resumed = await logLines(page);
    expect(resumed.filter((line) => line.startsWith("Planned 2 tools"))).toHaveLength(1);
    expect(resumed).toContain("Writing the code");

    await heading(page, "Your server is live", 30_000);
    const url = `${api.url}/${slug}/mcp`;
    expect(await page.locator(".code", { hasText: "MCP URL" }).locator("pre").textContent()).toBe(url);
    const lines = await logLines(page);
    // Every event once, even though part came with the reloaded page and the rest live.
    for (const line of [
      "Planned 2 tools",
      "Confirmed: 2 hosts approved",
      "Wrote ",
      "Version 1 stored",
      "Build succeeded",
    ]) {
      expect(
        lines.filter((text) => text.startsWith(line)),
        line,
      ).toHaveLength(1);
    }
    expect(lines.at(-1)).toBe("Build succeeded");
    expect(await page.getByTestId("build-stats").textContent()).toMatch(
      /^Round 1 of 3 · [1-9]\d* in \/ [1-9]\d* out tokens/,
    );
    expect(await page.locator(".build-step-done").count()).toBe(6);
    await page.getByText("Claude Code · a terminal").click();
    expect(await page.locator(".code", { hasText: "claude mcp add" }).count()).toBe(1);
    await screenshot(page, "wizard-live");
    // Live, and OAuth as the wizard planned it: an MCP client without a token is asked to sign in.
    const unauthenticated = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("www-authenticate")).toMatch(/resource_metadata=/);

    // The dashboard remembers the build and lists the server, live.
    await page.goto(`${api.url}/dashboard`);
    const recent = page.locator(".recent-builds li").first();
    expect(await recent.locator(".pill").textContent()).toBe("Succeeded");
    expect(await page.getByRole("row").filter({ hasText: slug }).locator(".pill").textContent()).toBe("Live");
  });

  it("refuses a plan's required secret left out, next to its field, and cancels", async () => {
    const page = browser.page();
    await signUp(page);
    fake.queue(answer.message("plan-github-issues"));
    const id = await submitBrief(
      page,
      "Search the issues of my GitHub repositories",
      `gh-${randomBytes(3).toString("hex")}`,
    );
    await heading(page, "Confirm the plan", 20_000);
    const secret = page.getByLabel("GITHUB_TOKEN");
    expect(await secret.getAttribute("type")).toBe("password");
    await page.getByRole("button", { name: "Confirm and build" }).click();
    const error = page.locator("#field-secret-GITHUB_TOKEN-error");
    await error.waitFor();
    expect(await error.textContent()).toBe("required: the server needs it");
    expect(await page.getByLabel("GITHUB_TOKEN").getAttribute("aria-invalid")).toBe("true");
    expect(await buildStatus(page, id)).toBe("waiting");

    await page.getByRole("button", { name: "Cancel build" }).click();
    await heading(page, "Build cancelled");
    await page.getByRole("status").getByText("Build cancelled.").waitFor();
    expect(await buildStatus(page, id)).toBe("cancelled");
  });

  it("shows a failed build's error in words", async () => {
    const page = browser.page();
    await signUp(page);
    fake.queue(answer.message("plan-units"));
    await submitBrief(page, "Convert between units of length and weight", `units-${randomBytes(3).toString("hex")}`);
    await heading(page, "Confirm the plan", 20_000);
    // The model is gone: every attempt to write the code is refused.
    fake.respond(() => ({ kind: "error", status: 400, type: "invalid_request_error", message: "prompt is too long" }));
    try {
      await page.getByRole("button", { name: "Confirm and build" }).click();
      await heading(page, "The build failed", 30_000);
      const alert = page.getByRole("alert").filter({ hasText: "The build failed" });
      expect(await alert.textContent()).toMatch(/prompt is too long|refused|rejected/i);
      await screenshot(page, "wizard-failed");
    } finally {
      fake.respond(undefined);
    }
  });
});
