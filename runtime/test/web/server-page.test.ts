import { beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../support/api-harness.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { shareSession, useIsola } from "./support/isola.ts";

// The server page's Overview, Tools, Logs and Metrics tabs in a real browser: install snippets
// with a working copy button, a playground call refused by the form and one that goes through
// the server's real MCP endpoint, the call in the live log and in the metrics. Also on an
// api_key server, where the user holds no key.

const GREETER = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "greeter",
  description: "Greets",
  tools: {
    greet: tool({
      description: "Greets someone by name",
      input: z.object({ name: z.string().min(1).describe("Who to greet"), times: z.number().int().min(1).max(3).optional() }),
      annotations: { readOnlyHint: true },
      run: ({ name, times }, ctx) => {
        ctx.log.info("greeting " + name);
        return "Hello, " + name + "!".repeat(times ?? 1);
      },
    }),
  },
});
`;

const api = useIsola();
let session: Client;
let cookie: string;
beforeAll(async () => {
  const signed = await api.signup();
  session = signed.session;
  cookie = session.headers.cookie as string;
  for (const [slug, authMode] of [
    ["greeter", "public"],
    ["keyed", "api_key"],
  ] as const) {
    expect((await session.post("servers", { slug, name: slug, authMode })).status).toBe(201);
    const version = await session.post(`servers/${slug}/versions`, { source: GREETER });
    expect(version.status).toBe(201);
    expect((await session.post(`servers/${slug}/deploy`, { version: version.body.number })).status).toBe(200);
  }
}, 120_000);

const browser = useBrowser();

async function signedInPage() {
  const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  await shareSession(context, api, cookie);
  return context.newPage();
}

describe("the server page", () => {
  for (const [slug, authMode] of [
    ["greeter", "public"],
    ["keyed", "api_key"],
  ] as const) {
    it(`overview -> tools playground -> logs -> metrics (${authMode})`, async () => {
      const page = await signedInPage();
      const problems: string[] = [];
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("console", (message) => void (message.type() === "error" && problems.push(message.text())));
      const shots = (tab: string) => screenshot(page, `server-${tab}-${authMode}`);

      // Overview: every client's snippet; the copy button copies.
      await page.goto(`${api.url}/servers/${slug}`);
      await page.getByRole("heading", { name: "Install" }).waitFor();
      for (const client of ["Claude Code", "Cursor", "VS Code"])
        expect(await page.getByRole("heading", { level: 3, name: new RegExp(client) }).count()).toBeGreaterThan(0);
      const claudeCode = page.locator("#install-claude-code");
      const command = await claudeCode.locator("pre").textContent();
      expect(command).toContain(`${api.url}/${slug}/mcp`);
      if (authMode === "api_key") expect(command).toContain("<your API key>");
      else expect(command).not.toContain("Authorization");
      const copy = claudeCode.locator("pre + button.code-copy");
      await copy.click({ timeout: 10_000 }).catch((error: Error) => {
        throw new Error(`${error.message}\npage errors: ${problems.join("\n")}`);
      });
      await expect.poll(() => copy.textContent()).toBe("Copied");
      expect(await page.evaluate("navigator.clipboard.readText()")).toBe(command);
      await shots("overview");

      // Tools: a bad input stays in the form with the field's error; a good one is called.
      await page.getByRole("navigation", { name: "Server" }).getByRole("link", { name: "Tools" }).click();
      await page.waitForURL(`${api.url}/servers/${slug}/tools`);
      const form = page.getByRole("form", { name: "Call greet" });
      await form.getByLabel(/times/).fill("7");
      await form.getByRole("button", { name: "Call greet" }).click();
      await page.locator("#field-arg\\.name-error").waitFor();
      expect(await page.locator("#field-arg\\.name-error").textContent()).toBe("required");
      expect(await page.locator("#field-arg\\.times-error").textContent()).toBe("at most 3");
      await form.getByLabel(/name/).fill("Ada");
      await form.getByLabel(/times/).fill("2");
      await form.getByRole("button", { name: "Call greet" }).click();
      await page.getByText("Hello, Ada!!").first().waitFor();
      expect(await page.getByRole("heading", { name: "Result" }).count()).toBe(1);
      await shots("tools");

      // Logs: the call's own log line, then new lines as they come.
      await page.goto(`${api.url}/servers/${slug}/logs`);
      await page.getByText("greeting Ada").first().waitFor();
      await page.getByText("Following new lines").waitFor();
      await shots("logs");

      // Metrics: usage is flushed every few seconds.
      await expect
        .poll(
          async () => {
            await page.goto(`${api.url}/servers/${slug}/metrics?range=1h`);
            return Number(await page.getByTestId("total-calls").textContent());
          },
          { timeout: 20_000, interval: 1000 },
        )
        .toBeGreaterThanOrEqual(1);
      await page.getByRole("cell", { name: "greet" }).waitFor();
      await page.getByText("Calls").first().waitFor();
      // The charts arrive after the page (recharts loads by import()), in the placeholders' boxes.
      await page.locator(".charts .recharts-surface").first().waitFor({ timeout: 10_000 });
      expect(await page.locator(".charts figure").count()).toBe(3);
      expect(await page.locator(".charts [aria-busy]").count()).toBe(0);
      await shots("metrics");
    }, 60_000);
  }

  it("the logs page works without JavaScript: the last lines", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    await shareSession(context, api, cookie);
    const page = await context.newPage();
    await page.goto(`${api.url}/servers/greeter/logs`);
    await page.getByText("greeting Ada").first().waitFor({ timeout: 10_000 });
  });
});
