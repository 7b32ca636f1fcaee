import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBuildApi, startModel } from "../builds/build-harness.ts";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { SCREENSHOTS_DIR, screenshot, useBrowser } from "./support/browser.ts";
import { submitSignUp } from "./support/isola.ts";

// Issue 8's acceptance journey, in one real browser session and through the UI only: sign up,
// deploy the FAQ template from the wizard (it calls no host, so the playground works offline),
// see it live, copy the Cursor snippet, call a tool, see the call in logs and metrics, set a
// secret, iterate with a brief (the fake Anthropic API answering recorded messages), roll back,
// create and revoke an API key, sign out. The API is only read, as the signed-in browser, to
// check that what the page says is so. A screenshot per step: journey-NN-<step>.

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

const browser = useBrowser();

/** What the signed-in browser reads from the API (its own session cookie). */
async function read<T = Record<string, unknown>>(page: Page, path: string): Promise<{ status: number; body: T }> {
  const response = await page.request.get(`${api.url}/api/v1/${path}`);
  return { status: response.status(), body: (await response.json().catch(() => null)) as T };
}

describe("the journey of issue 8", () => {
  it("sign up -> template -> live -> Cursor snippet -> playground -> logs, metrics -> secret -> iterate -> roll back -> API key -> sign out", async () => {
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    const page = await context.newPage();
    // A step that never happens fails naming itself long before the test's timeout.
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    const email = `journey-${randomBytes(4).toString("hex")}@example.com`;
    const slug = `faq-${randomBytes(3).toString("hex")}`;
    const mcpUrl = `${api.url}/${slug}/mcp`;

    let shots = 0;
    /** journey-NN-<name>: desktop, and mobile too for the main pages. */
    const shot = async (name: string, { mobile = false } = {}) => {
      const file = `journey-${String(++shots).padStart(2, "0")}-${name}`;
      if (mobile) return screenshot(page, file);
      await mkdir(SCREENSHOTS_DIR, { recursive: true });
      await page.screenshot({ path: `${SCREENSHOTS_DIR}${file}-desktop.png` });
    };
    /** Runs one step; a failure names the step, the page's URL and heading, and any script error. */
    const step = async (name: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        const heading = await page
          .getByRole("heading", { level: 1 })
          .first()
          .textContent({ timeout: 1000 })
          .catch(() => "(none)");
        throw new Error(
          `journey step "${name}" failed on ${page.url()} (heading "${heading}"): ${(error as Error).message}` +
            (pageErrors.length ? `\npage errors: ${pageErrors.join("\n")}` : ""),
          { cause: error },
        );
      }
    };
    const toast = (text: string) => page.getByRole("status").getByText(text).first().waitFor();
    const tab = async (label: string, path: string) => {
      await page.getByRole("navigation", { name: "Server" }).getByRole("link", { name: label, exact: true }).click();
      await page.waitForURL(`${api.url}/servers/${slug}${path}`);
    };
    const h1 = (name: string | RegExp, timeout?: number) =>
      page.getByRole("heading", { level: 1, name }).waitFor(timeout ? { timeout } : {});

    await step("sign up", async () => {
      await page.goto(`${api.url}/`);
      await page.getByRole("link", { name: "Sign up" }).first().click();
      await page.waitForURL(`${api.url}/signup`);
      await shot("sign-up", { mobile: true });
      await submitSignUp(page, email);
      await page.waitForURL(`${api.url}/dashboard`);
      expect(await page.getByTestId("dashboard-email").textContent()).toBe(email);
      await page.getByTestId("servers-empty").getByText("No servers yet").waitFor();
      expect((await read<{ user: { email: string } }>(page, "me")).body.user.email).toBe(email);
      await shot("dashboard-empty", { mobile: true });
    });

    await step("deploy a template through the wizard", async () => {
      await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "New server" }).click();
      await page.waitForURL(`${api.url}/servers/new`);
      await h1("New server");
      const faq = page
        .getByRole("listitem")
        .filter({ has: page.getByRole("heading", { name: "FAQ and knowledge base" }) });
      await faq.getByText("Deploy FAQ and knowledge base").click();
      await faq.getByLabel("Slug").fill(slug);
      await shot("wizard-template");
      await faq.getByRole("button", { name: "Deploy" }).click();
      // Deploying compiles and starts the server: slower than a page on a busy machine.
      await page.waitForURL(`${api.url}/servers/new?deployed=${slug}`, { timeout: 30_000 });
    });

    await step("see it live", async () => {
      await h1("FAQ and knowledge base is live");
      await toast("FAQ and knowledge base is live.");
      expect(await page.locator(".code", { hasText: "MCP URL" }).locator("pre").textContent()).toBe(mcpUrl);
      await shot("live", { mobile: true });
      await page.getByRole("link", { name: "Open FAQ and knowledge base" }).click();
      await page.waitForURL(`${api.url}/servers/${slug}`);
      await page.getByRole("heading", { level: 1 }).getByText("Live").waitFor();
      const facts = page.locator("dl.facts");
      expect(await facts.textContent()).toContain("Active versionv1");
      const server = await read<{ status: string; activeVersion: number; mcpUrl: string }>(page, `servers/${slug}`);
      expect(server.body).toMatchObject({ status: "live", activeVersion: 1, mcpUrl });
    });

    await step("copy the Cursor snippet", async () => {
      const cursor = page.locator("#install-cursor");
      await cursor.getByRole("heading", { level: 3, name: "Cursor" }).waitFor();
      const copy = cursor.getByRole("button", { name: "Copy Cursor" });
      await copy.click();
      await expect.poll(() => copy.textContent()).toBe("Copied");
      const copied = String(await page.evaluate("navigator.clipboard.readText()"));
      // Cursor's mcp.json for this server: its slug, its URL, nothing else (a public server has no key).
      expect(JSON.parse(copied)).toEqual({ mcpServers: { [slug]: { url: mcpUrl } } });
      expect(copied).toBe(await cursor.locator("pre").textContent());
      await cursor.scrollIntoViewIfNeeded();
      await shot("overview-cursor-copied", { mobile: true });
    });

    await step("call a tool in the playground", async () => {
      await tab("Tools", "/tools");
      await page.getByText("Version v1: 3 tools.").waitFor();
      const form = page.getByRole("form", { name: "Call search_faq" });
      // Bad input first: the required query left empty is refused next to its field.
      await form.getByRole("button", { name: "Call search_faq" }).click();
      await expect.poll(() => page.locator("#field-arg\\.query-error").textContent()).toBe("required");
      await form.getByLabel(/query/).fill("how does search work");
      await form.getByRole("button", { name: "Call search_faq" }).click();
      const result = page.locator("#tool-search_faq .result");
      await result.getByRole("heading", { name: "Result" }).waitFor({ timeout: 20_000 });
      const structured = JSON.parse(
        (await result.locator(".code", { hasText: "structuredContent" }).locator("pre").textContent()) ?? "",
      ) as { matches: { id: string; question: string }[] };
      expect(structured.matches[0]).toMatchObject({ id: "search", question: "How does search work?" });
      await result.scrollIntoViewIfNeeded();
      await shot("playground", { mobile: true });
    });

    await step("see the call in logs and metrics", async () => {
      await tab("Logs", "/logs");
      await page.getByText("Following new lines").waitFor();
      const rows = page.locator(".log-table tbody tr");
      await rows.filter({ hasText: "version 1 is live" }).first().waitFor();
      // The playground's call, by its tool (docs/API.md: "the call shows in logs and usage like any
      // client's"). Soft: a missing line fails the test, and the journey still goes on to the end.
      const call = rows.filter({ has: page.locator(".tag", { hasText: "search_faq" }) }).first();
      const logged = await call.waitFor({ timeout: 10_000 }).then(
        () => true,
        () => false,
      );
      expect
        .soft(
          logged,
          `the Logs tab shows no line for the search_faq call: ${JSON.stringify(await rows.allTextContents())}`,
        )
        .toBe(true);
      await shot("logs", { mobile: true });

      await tab("Metrics", "/metrics");
      // Usage is flushed every few seconds: reload until the call is counted.
      await expect
        .poll(
          async () => {
            await page.goto(`${api.url}/servers/${slug}/metrics?range=1h`);
            return Number(await page.getByTestId("total-calls").textContent());
          },
          { timeout: 25_000, interval: 1000, message: "the metrics never counted the playground's call" },
        )
        .toBe(1);
      await page.getByRole("cell", { name: "search_faq" }).waitFor();
      await page.locator(".charts .recharts-surface").first().waitFor();
      await shot("metrics", { mobile: true });
    });

    await step("set a secret", async () => {
      const value = `s3cret-${randomBytes(8).toString("hex")}`;
      await tab("Secrets", "/secrets");
      await page.getByText("No secrets yet").waitFor();
      await page.getByLabel("Name").fill("SUPPORT_TOKEN");
      await page.getByLabel("Value").fill(value);
      await page.getByRole("button", { name: "Save secret" }).click();
      await toast("Secret SUPPORT_TOKEN saved.");
      const row = page.getByTestId("secrets").getByRole("row", { name: /SUPPORT_TOKEN/ });
      expect(await row.textContent()).toContain("Set");
      expect(await page.getByLabel("Value").inputValue()).toBe("");
      expect(await page.content()).not.toContain(value);
      const secrets = await read<{ items: { name: string }[] }>(page, `servers/${slug}/secrets`);
      expect(secrets.body.items.map((secret) => secret.name)).toEqual(["SUPPORT_TOKEN"]);
      expect(JSON.stringify(secrets.body)).not.toContain(value);
      await shot("secret");
    });

    let buildId = "";
    await step("iterate with a brief", async () => {
      await tab("Versions", "/versions");
      expect(await page.getByTestId("versions").locator('tr[data-version="1"]').textContent()).toContain("Active");
      fake.queue(answer.slow(500, answer.message("iterate-units-plan")));
      await page
        .getByLabel("What should change")
        .fill("Turn it into a unit converter: temperatures, lengths with yards and inches, and weights");
      await page.getByRole("button", { name: "Start a build" }).click();
      await page.waitForURL(/\/servers\/new\/[0-9a-f-]{36}$/);
      buildId = new URL(page.url()).pathname.split("/").at(-1) as string;
      await h1("Confirm the plan", 30_000);
      for (const tool of ["convert_temperature", "convert_length", "convert_weight"])
        expect(await page.getByRole("cell", { name: tool }).count(), tool).toBe(1);
      await shot("iterate-plan", { mobile: true });

      fake.queue(answer.message("iterate-units-code"));
      await page.getByRole("button", { name: "Confirm and build" }).click();
      // Writing, checking, smoke-testing and deploying the new version: generous on a loaded box.
      await h1("Your server is live", 60_000).catch(async (error: Error) => {
        const build = await read<{ status: string; error: unknown }>(page, `builds/${buildId}`);
        throw new Error(
          `the build is ${build.body.status}, error ${JSON.stringify(build.body.error)}: ${error.message}`,
        );
      });
      const log = await page.getByRole("log", { name: "Build events" }).locator(":scope > li").allTextContents();
      expect(
        log.some((line) => line.startsWith("Version 2 stored")),
        JSON.stringify(log),
      ).toBe(true);
      expect(log.at(-1)).toBe("Build succeeded");
      expect(await page.locator(".code", { hasText: "MCP URL" }).locator("pre").textContent()).toBe(mcpUrl);
      const build = await read<{ kind: string; status: string; version: number; server: string }>(
        page,
        `builds/${buildId}`,
      );
      expect(build.body).toMatchObject({ kind: "iterate", status: "succeeded", version: 2, server: slug });
      expect((await read<{ activeVersion: number }>(page, `servers/${slug}`)).body.activeVersion).toBe(2);
      await shot("iterate-live", { mobile: true });
    });

    await step("roll back", async () => {
      await page.getByRole("link", { name: `Open ${slug}` }).click();
      await page.waitForURL(`${api.url}/servers/${slug}`);
      await tab("Versions", "/versions");
      const versions = page.getByTestId("versions");
      expect(await versions.locator('tr[data-version="2"]').textContent()).toContain("Active");
      expect(await versions.locator('tr[data-version="2"]').textContent()).toContain("convert_weight");
      await versions.getByRole("button", { name: "Roll back to v1" }).click();
      await toast("Rolled back to version 1: it serves now.");
      await expect.poll(() => versions.locator('tr[data-version="1"]').textContent()).toContain("Active");
      expect(await versions.locator('tr[data-version="2"]').textContent()).not.toContain("Active");
      expect(await page.getByTestId("deployments").locator("li").first().textContent()).toMatch(
        /Rolled back to v1 from v2/,
      );
      expect((await read<{ activeVersion: number }>(page, `servers/${slug}`)).body.activeVersion).toBe(1);
      await shot("rolled-back", { mobile: true });
      // The tools the server serves are version 1's again.
      await tab("Tools", "/tools");
      await page.getByText("Version v1: 3 tools.").waitFor();
      expect(await page.getByRole("form", { name: "Call search_faq" }).count()).toBe(1);
    });

    await step("create and revoke an API key", async () => {
      await tab("API keys", "/keys");
      await page.getByText("No keys yet.").waitFor();
      await page.getByLabel("Name").fill("laptop");
      await page.getByRole("button", { name: "Create key" }).click();
      const created = page.getByTestId("created-key");
      await created.waitFor();
      const key = (await created.locator("pre").textContent()) ?? "";
      expect(key.length).toBeGreaterThan(20);
      const row = page.getByTestId("keys").getByRole("row", { name: /laptop/ });
      const prefix = (await row.locator("code").textContent())?.replace("…", "") ?? "";
      expect(key.startsWith(prefix)).toBe(true);
      await shot("key-created");
      await row.getByText("Revoke", { exact: true }).click();
      await page.getByRole("button", { name: "Yes, revoke laptop" }).click();
      await toast("Key laptop revoked: it stops working at once.");
      await expect.poll(() => row.textContent()).toContain("Revoked");
      const keys = await read<{ items: { name: string; revokedAt: string | null }[] }>(page, `servers/${slug}/keys`);
      expect(keys.body.items).toEqual([expect.objectContaining({ name: "laptop", revokedAt: expect.any(String) })]);
      await shot("key-revoked");
    });

    await step("sign out", async () => {
      await page.locator("details.menu summary").click();
      expect(await page.getByTestId("user-email").textContent()).toBe(email);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(`${api.url}/signin`);
      await toast("You are signed out.");
      expect((await read(page, "me")).status).toBe(401);
      await shot("signed-out", { mobile: true });
      // The pages behind sign-in are closed to this browser now.
      await page.goto(`${api.url}/servers/${slug}`);
      await page.waitForURL(/\/signin/);
    });

    expect(pageErrors).toEqual([]);
    expect(fake.pending()).toBe(0);
  }, 120_000);
});
