import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startModel } from "../builds/build-harness.ts";
import { type Client, deployHello, HELLO_SOURCE } from "../support/api-harness.ts";
import type { FakeAnthropic } from "../support/fake-anthropic.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { shareSession, useIsola } from "./support/isola.ts";

// The server page's Secrets, Versions, API keys and Settings tabs in a real browser, against a
// real Isola: a signed-up account deploys the hello example through the API, then uses the tabs.

// No instance model key: a brief is refused until the org sets its own (then builds reach the fake).
const api = useIsola();
let model: FakeAnthropic;
beforeAll(async () => {
  model = await startModel();
});
afterAll(async () => {
  await model?.close();
});

const browser = useBrowser();

/** Hello, changed: a new description and input for `hello`, and a second tool. */
const HELLO_V2 = HELLO_SOURCE.replace("Greets someone by name", "Greets someone warmly")
  .replace('z.object({ name: z.string().min(1).describe("Who to greet") })', "z.object({ name: z.string().min(2) })")
  .replace(
    "  },\n});",
    `    bye: tool({
      description: "Says goodbye",
      input: z.object({}),
      run: () => "Bye!",
    }),
  },
});`,
  );

/** Signs up, deploys hello, and hands the browser the same session. */
async function signedInWithHello(page: Page): Promise<{ session: Client; slug: string; org: string }> {
  const { session, org } = await api.signup();
  const slug = `tabs-${randomBytes(3).toString("hex")}`;
  await deployHello(session, slug);
  await shareSession(page.context(), api, String(session.headers.cookie));
  // A step that never happens fails naming itself, before the test's own timeout.
  page.setDefaultTimeout(10_000);
  return { session, slug, org };
}

/** If-Match with the server's current ETag, for changes the test makes "elsewhere". */
async function etag(session: Client, slug: string) {
  return { "if-match": String((await session.get(`servers/${slug}`)).headers.etag) };
}

const toast = (page: Page, text: string) => page.getByRole("status").getByText(text).waitFor();
const fieldError = (page: Page, name: string) => page.locator(`#field-${name}-error`).textContent();

describe("the server page's secrets, versions, keys and settings tabs", () => {
  it("secrets: a bad name is refused next to the field; a good one is listed, its value never shown", async () => {
    const page = browser.page();
    const { slug } = await signedInWithHello(page);
    const value = `s3cret-${randomBytes(8).toString("hex")}`;
    await page.goto(`${api.url}/servers/${slug}/secrets`);
    await page.getByText("No secrets yet").waitFor();

    await page.getByLabel("Name").fill("weather-key");
    await page.getByLabel("Value").fill(value);
    await page.getByRole("button", { name: "Save secret" }).click();
    await expect.poll(() => page.getByLabel("Name").getAttribute("aria-invalid")).toBe("true");
    expect(await fieldError(page, "name")).toMatch(/^UPPER_SNAKE_CASE/);
    expect(await page.getByLabel("Value").inputValue()).toBe("");
    expect(await page.content()).not.toContain(value);

    await page.getByLabel("Name").fill("WEATHER_KEY");
    await page.getByLabel("Value").fill(value);
    await page.getByRole("button", { name: "Save secret" }).click();
    await toast(page, "Secret WEATHER_KEY saved.");
    const row = page.getByTestId("secrets").getByRole("row", { name: /WEATHER_KEY/ });
    expect(await row.textContent()).toContain("Set");
    expect(await page.getByLabel("Value").inputValue()).toBe("");
    expect(await page.content()).not.toContain(value);
    await page.reload();
    expect(await page.content()).not.toContain(value);
    await screenshot(page, "server-secrets");

    await row.getByText("Delete", { exact: true }).click();
    await page.getByRole("button", { name: "Yes, delete WEATHER_KEY" }).click();
    await toast(page, "Secret WEATHER_KEY deleted.");
    await page.getByText("No secrets yet").waitFor();
  });

  it("works without JavaScript: a secret set, then deleted behind its confirmation", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const { slug } = await signedInWithHello(page);
    await page.goto(`${api.url}/servers/${slug}/secrets`);
    await page.getByLabel("Name").fill("NO_JS");
    await page.getByLabel("Value").fill("plain-form-value");
    await page.getByRole("button", { name: "Save secret" }).click();
    const row = page.getByTestId("secrets").getByRole("row", { name: /NO_JS/ });
    await row.waitFor();
    expect(await page.content()).not.toContain("plain-form-value");
    await row.getByText("Delete", { exact: true }).click();
    await page.getByRole("button", { name: "Yes, delete NO_JS" }).click();
    await page.getByText("No secrets yet").waitFor();
  });

  it("API keys: created and shown once, refused with a bad expiry, revoked after a confirmation", async () => {
    const page = browser.page();
    const { slug } = await signedInWithHello(page);
    await page.goto(`${api.url}/servers/${slug}/keys`);
    await page.getByText("No keys yet.").waitFor();

    await page.getByLabel("Name").fill("ci");
    await page.getByLabel("Expires in (days)").fill("forever");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect.poll(() => fieldError(page, "expiresInDays")).toBe("a whole number of days");
    expect(await page.getByLabel("Name").inputValue()).toBe("ci");

    await page.getByLabel("Expires in (days)").fill("30");
    await page.getByLabel("Calls per minute").fill("120");
    await page.getByRole("button", { name: "Create key" }).click();
    const created = page.getByTestId("created-key");
    await created.waitFor();
    const key = (await created.locator("pre").textContent()) ?? "";
    expect(key.length).toBeGreaterThan(20);
    expect(await created.textContent()).toContain("only time it is shown");
    await created.getByRole("button", { name: "Copy API key ci" }).waitFor();
    const row = page.getByTestId("keys").getByRole("row", { name: /ci/ });
    expect(await row.textContent()).toContain("120/min");
    const prefix = (await row.locator("code").textContent())?.replace("…", "") ?? "";
    expect(key.startsWith(prefix)).toBe(true);
    await screenshot(page, "server-keys");

    await page.reload();
    expect(await page.getByTestId("created-key").count()).toBe(0);
    expect(await page.content()).not.toContain(key);

    await row.getByText("Revoke", { exact: true }).click();
    await page.getByRole("button", { name: "Yes, revoke ci" }).click();
    await toast(page, "Key ci revoked: it stops working at once.");
    expect(await row.textContent()).toContain("Revoked");
    expect(await row.getByText("Revoke", { exact: true }).count()).toBe(0);
  });

  it("versions: the diff of source and tools, a rollback, and a brief refused without a model", async () => {
    const page = browser.page();
    const { session, slug, org } = await signedInWithHello(page);
    const v2 = await session.post(`servers/${slug}/versions`, { source: HELLO_V2 });
    expect(v2.status).toBe(201);
    expect((await session.post(`servers/${slug}/deploy`, { version: 2 })).status).toBe(200);

    await page.goto(`${api.url}/servers/${slug}/versions`);
    const versions = page.getByTestId("versions");
    expect(await versions.locator('tr[data-version="2"]').textContent()).toContain("Active");
    expect(await versions.locator('tr[data-version="1"]').textContent()).not.toContain("Active");

    await page.getByRole("button", { name: "Compare" }).click();
    await page.waitForURL(/from=1&to=2/);
    const tools = page.getByTestId("tool-diff");
    expect(await tools.locator(".diff-added").textContent()).toContain("bye");
    expect(await tools.locator(".diff-changed").textContent()).toContain("hello: description, input schema");
    expect(await tools.locator("del").textContent()).toBe("Greets someone by name");
    expect(await tools.locator("ins").textContent()).toBe("Greets someone warmly");
    const source = page.getByTestId("source-diff");
    expect(await source.locator("tr.diff-added").allTextContents()).toContainEqual(
      expect.stringContaining('description: "Says goodbye",'),
    );
    expect(await source.locator("tr.diff-removed").allTextContents()).toContainEqual(
      expect.stringContaining('description: "Greets someone by name",'),
    );
    await screenshot(page, "server-versions-diff");

    await versions.getByRole("button", { name: "Roll back to v1" }).click();
    await toast(page, "Rolled back to version 1: it serves now.");
    await expect.poll(() => versions.locator('tr[data-version="1"]').textContent()).toContain("Active");
    expect(await page.getByTestId("deployments").locator("li").first().textContent()).toMatch(
      /Rolled back to v1 from v2/,
    );
    expect((await session.get(`servers/${slug}`)).body.activeVersion).toBe(1);

    await page.getByLabel("What should change").fill("more");
    await page.getByRole("button", { name: "Start a build" }).click();
    await expect.poll(() => fieldError(page, "prompt")).toBe("describe the server in at least 10 characters");
    await page.getByLabel("What should change").fill("Add a tool that says good morning");
    await page.getByRole("button", { name: "Start a build" }).click();
    await page.getByRole("alert").getByText("No language model is configured", { exact: true }).waitFor();
    expect(await page.getByLabel("What should change").inputValue()).toBe("Add a tool that says good morning");
    expect(page.url()).toContain(`/servers/${slug}/versions`);
    await screenshot(page, "server-versions");

    // With the org's own model key the build is queued, and the page goes to the build's progress.
    expect((await session.put(`orgs/${org}/model-key`, { value: "sk-ant-test-key" })).status).toBe(200);
    await page.getByRole("button", { name: "Start a build" }).click();
    await page.waitForURL(/\/servers\/new\/[0-9a-f-]{36}$/);
    const build = await session.get(`builds/${page.url().split("/").at(-1)}`);
    expect(build.body).toMatchObject({ kind: "iterate", server: slug, prompt: "Add a tool that says good morning" });
  });

  it("settings: a bad origin refused, a good one saved; a stale edit; pause, resume; delete after the slug", async () => {
    const page = browser.page();
    const { session, slug } = await signedInWithHello(page);
    // A live version that declares a host, approved when the server was made.
    expect(
      (await session.patch(`servers/${slug}`, { egressApproved: ["api.example.com"] }, await etag(session, slug)))
        .status,
    ).toBe(200);
    const withEgress = HELLO_SOURCE.replace(
      'description: "Says hello",',
      'description: "Says hello",\n  egress: ["api.example.com"],',
    );
    expect((await session.post(`servers/${slug}/versions`, { source: withEgress })).status).toBe(201);
    expect((await session.post(`servers/${slug}/deploy`, { version: 2 })).status).toBe(200);
    await page.goto(`${api.url}/servers/${slug}/settings`);

    const egress = page.getByTestId("egress");
    expect(await egress.textContent()).toContain("api.example.com");
    await egress.getByRole("button", { name: "Revoke api.example.com" }).click();
    await toast(page, "api.example.com no longer approved: calls to it are refused.");
    await egress.getByRole("button", { name: "Approve api.example.com" }).waitFor();
    expect((await session.get(`servers/${slug}`)).body.egressApproved).toEqual([]);
    await egress.getByRole("button", { name: "Approve api.example.com" }).click();
    await toast(page, "api.example.com approved.");
    await egress.getByRole("button", { name: "Revoke api.example.com" }).waitFor();
    expect((await session.get(`servers/${slug}`)).body.egressApproved).toEqual(["api.example.com"]);

    await page.getByLabel("Allowed browser origins").fill("https://app.example.com\nftp://files.example.com");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => fieldError(page, "allowedOrigins")).toMatch(/^ftp:\/\/files\.example\.com: an origin like/);
    expect((await session.get(`servers/${slug}`)).body.allowedOrigins).toEqual([]);

    await page.getByLabel("Allowed browser origins").fill("https://app.example.com");
    await page.getByLabel("Name").fill("Renamed hello");
    await page.getByLabel("Also serve the legacy HTTP+SSE transport").check();
    await page.getByRole("button", { name: "Save settings" }).click();
    await toast(page, "Settings saved.");
    await page.reload();
    expect(await page.getByLabel("Allowed browser origins").inputValue()).toBe("https://app.example.com");
    expect(await page.getByLabel("Also serve the legacy HTTP+SSE transport").isChecked()).toBe(true);
    await page.getByRole("heading", { level: 1, name: /Renamed hello/ }).waitFor();
    await page.evaluate("window.scrollTo(0, 0)");
    await screenshot(page, "server-settings");

    // Someone else saves while this page is open: this page's save is refused, in words.
    const other = await session.patch(
      `servers/${slug}`,
      { description: "changed elsewhere" },
      await etag(session, slug),
    );
    expect(other.status).toBe(200);
    await page.getByLabel("Name").fill("Mine");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("alert").getByText("Someone changed this server since you opened this page").waitFor();
    expect((await session.get(`servers/${slug}`)).body.name).toBe("Renamed hello");

    await page.reload();
    await page.getByRole("button", { name: "Pause" }).click();
    await toast(page, "Paused: MCP calls are refused (503) until you resume.");
    await page.getByRole("heading", { level: 1 }).getByText("Paused").waitFor();
    await page.getByRole("button", { name: "Resume" }).click();
    await toast(page, "Resumed: serving calls again.");
    await page.getByRole("heading", { level: 1 }).getByText("Live").waitFor();

    await page.getByLabel(`Type ${slug} to confirm`).fill("not-the-slug");
    await page.getByRole("button", { name: "Delete server" }).click();
    await expect.poll(() => fieldError(page, "confirm")).toBe(`type ${slug} to confirm`);
    expect((await session.get(`servers/${slug}`)).status).toBe(200);
    await page.getByLabel(`Type ${slug} to confirm`).fill(slug);
    await page.getByRole("button", { name: "Delete server" }).click();
    // Deleting stops the server everywhere: slower than a page, more so on a busy machine.
    await page.waitForURL(`${api.url}/dashboard`, { timeout: 25_000 });
    await toast(page, `Server ${slug} deleted.`);
    expect((await session.get(`servers/${slug}`)).status).toBe(404);
  });
});
