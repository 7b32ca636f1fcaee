import { randomBytes } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MODEL_KEY, startModel } from "../builds/build-harness.ts";
import { type Api, type Client, deployHello, startApi } from "../support/api-harness.ts";
import { answer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { quickDatabase } from "../support/mcp.ts";
import { useBrowser } from "./support/browser.ts";
import { shareSession, signUpInBrowser } from "./support/isola.ts";

// The web pages' Content-Security-Policy in a real browser: the main pages (their hydration, the
// wizard's live stream, the logs' stream, copy buttons, the playground, recharts) run under it
// with no violation and no console error; each response has a fresh nonce that its inline scripts
// carry; a script without it is refused. And a page whose loader fails is logged as one pino line
// with the request's id, and shown in words.

// Control answering GET /me with a body the web does not expect (no orgs), for a browser that
// carries this cookie: the dashboard's loader then fails as a real bug would.
const BROKEN_ME = "csp-test=broken-me";
const breakMe: FastifyPluginAsync = async (app) => {
  app.addHook("onRequest", async (request, reply) => {
    if (request.url === "/api/v1/me" && (request.headers.cookie ?? "").includes(BROKEN_ME))
      return reply.code(200).send({ user: { email: "broken@example.com" } });
  });
};
// Not encapsulated: the hook sees control's routes too.
Object.assign(breakMe, { [Symbol.for("skip-override")]: true });

let fake: FakeAnthropic;
let api: Api;
let session: Client;
let cookie: string;
beforeAll(async () => {
  fake = await startModel();
  api = await startApi(quickDatabase(), { ANTHROPIC_API_KEY: MODEL_KEY }, { listen: true, plugins: [breakMe] });
  ({ session } = await api.signup());
  cookie = session.headers.cookie as string;
  await deployHello(session, "hello");
}, 120_000);
afterAll(async () => {
  await api?.close();
  await fake?.close();
});

const browser = useBrowser();

/** Everything a context's pages report that means the policy got in the way, or a script broke. */
async function watch(context: BrowserContext): Promise<string[]> {
  const problems: string[] = [];
  await context.exposeBinding("__cspViolation", (_source, text: string) => void problems.push(`violation: ${text}`));
  await context.addInitScript(`document.addEventListener("securitypolicyviolation", (event) =>
    window.__cspViolation(event.effectiveDirective + " refused " + (event.blockedURI || "inline") + " at " + event.documentURI));`);
  context.on("console", (message) => void (message.type() === "error" && problems.push(`console: ${message.text()}`)));
  context.on("weberror", (error) => void problems.push(`page error: ${error.error().message}`));
  return problems;
}

/** The nonce of the policy a page response carries (and that policy is the page policy). */
function nonceOf(policy: string | undefined): string {
  expect(policy).toMatch(/^default-src 'self'; script-src 'self' 'nonce-[A-Za-z0-9+/]{22}=='; /);
  expect(policy).not.toMatch(/unsafe-eval|form-action/);
  return (String(policy).match(/'nonce-([^']+)'/) as RegExpMatchArray)[1] as string;
}

/** The nonces the page's scripts carry (the attribute is hidden from the DOM; the property is not). */
const scriptNonces = (page: Page): Promise<string[]> =>
  page.evaluate("[...document.scripts].map((script) => script.nonce)");

const nonces: string[] = [];

/** Opens a page as a document; checks its policy and that each of its scripts carries the nonce. */
async function visit(page: Page, path: string): Promise<void> {
  const response = await page.goto(`${api.url}${path}`);
  expect(response?.status(), path).toBe(200);
  const nonce = nonceOf(response?.headers()["content-security-policy"]);
  nonces.push(nonce);
  const carried = await scriptNonces(page);
  expect(carried.length, `${path} has scripts`).toBeGreaterThan(0);
  expect(carried, path).toEqual(carried.map(() => nonce));
}

describe("the pages' Content-Security-Policy", () => {
  it("landing, sign-in, dashboard, wizard (live stream), overview (copy), playground, logs, metrics: no violation", async () => {
    const problems = await watch(browser.page().context());
    const page = browser.page();
    await visit(page, "/");
    await page.getByRole("heading", { level: 1, name: "Describe a tool. Get a hosted MCP server." }).waitFor();
    await visit(page, "/signin");
    await page.getByLabel("Email").waitFor();

    // Sign-up (a form post through the hydrated app), the dashboard, the wizard's brief.
    await signUpInBrowser(page, api, `csp-${randomBytes(4).toString("hex")}@example.com`);
    await page.getByRole("status").getByText("Your account is ready.").waitFor();
    await visit(page, "/servers/new");
    await page.getByLabel("What should the server do?").fill("A server with weather forecasts for any city");
    fake.queue(answer.slow(300, answer.message("plan-weather")));
    await page.getByRole("button", { name: "Plan the server" }).click();
    await page.waitForURL(/\/servers\/new\/[0-9a-f-]{36}$/);
    // The plan arrives through the build's event stream (EventSource), then the page asks to confirm it.
    await page.getByRole("heading", { level: 1, name: "Confirm the plan" }).waitFor({ timeout: 20_000 });

    // A server's pages, as another account that has one.
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    const serverProblems = await watch(context);
    await shareSession(context, api, cookie);
    const server = await context.newPage();
    await visit(server, "/servers/hello");
    const copy = server.locator("#install-cursor").locator("button.code-copy");
    await copy.click();
    await expect.poll(() => copy.textContent()).toBe("Copied");

    await visit(server, "/servers/hello/tools");
    const form = server.getByRole("form", { name: "Call hello" });
    await form.getByLabel(/name/).fill("Ada");
    await form.getByRole("button", { name: "Call hello" }).click();
    await server.getByText("Hello, Ada!").first().waitFor();

    await visit(server, "/servers/hello/logs");
    await server.getByText("Following new lines").waitFor();

    // Usage is flushed every few seconds; the charts (recharts, loaded by import()) come after the page.
    await expect
      .poll(
        async () => {
          await visit(server, "/servers/hello/metrics?range=1h");
          return Number(await server.getByTestId("total-calls").textContent());
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBeGreaterThanOrEqual(1);
    await server.locator(".charts .recharts-surface").first().waitFor({ timeout: 10_000 });

    expect(serverProblems).toEqual([]);
    expect(problems).toEqual([]);
    // A nonce per response, never one again.
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(nonces.length).toBeGreaterThanOrEqual(7);
  }, 60_000);

  it("refuses an inline script without the page's nonce, and code made from a string; runs one with it", async () => {
    const page = browser.page();
    const problems = await watch(page.context());
    const response = await page.goto(`${api.url}/signin`);
    const nonce = nonceOf(response?.headers()["content-security-policy"]);
    // Each script records that it ran, then tries to make code from a string.
    const ran = await page.evaluate(`(async () => {
      const run = (nonce) => {
        const script = document.createElement("script");
        if (nonce) script.nonce = nonce;
        script.textContent = "window.__ran = (window.__ran || []).concat(" + JSON.stringify(nonce || "none") + ");" +
          // Later, on its own: code DevTools runs (this evaluate) may make code from strings.
          "setTimeout(() => { try { eval('1'); window.__evaluated = 'ran'; } catch (error) { window.__evaluated = error.name; } });";
        document.body.append(script);
      };
      run(null);
      run("AAAAAAAAAAAAAAAAAAAAAA==");
      run(${JSON.stringify(nonce)});
      const handler = document.createElement("div");
      handler.setAttribute("onclick", "window.__clicked = true");
      document.body.append(handler);
      handler.click();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { scripts: window.__ran, evaluated: window.__evaluated, clicked: window.__clicked === true };
    })()`);
    expect(ran).toEqual({ scripts: [nonce], evaluated: "EvalError", clicked: false });
    await expect.poll(() => problems.filter((problem) => problem.startsWith("violation:")).length).toBe(4);
    const refused = problems.filter((problem) => problem.startsWith("violation:")).map((p) => p.split(" ")[1]);
    // Two scripts without the nonce (none, a wrong one), the eval, the onclick attribute.
    expect(refused.sort()).toEqual(["script-src", "script-src-attr", "script-src-elem", "script-src-elem"]);
  });

  it("a page whose loader fails: one pino line with the request's id, and the error in words", async () => {
    const { session: broken } = await api.signup();
    const context = await browser.newContext();
    const problems = await watch(context);
    await shareSession(context, api, broken.headers.cookie as string);
    await shareSession(context, api, BROKEN_ME);
    const page = await context.newPage();
    const stderr = vi.spyOn(console, "error");
    const before = api.logs.length;
    try {
      const response = await page.goto(`${api.url}/dashboard`);
      expect(response?.status()).toBe(500);
      await page.getByRole("heading", { level: 1, name: "Something went wrong on our side" }).waitFor();
      expect(await page.getByText("the error has been logged").count()).toBe(1);
      nonceOf(response?.headers()["content-security-policy"]);
      const reqId = response?.headers()["x-request-id"];
      expect(reqId).toBeTruthy();

      const errors = api.logs
        .slice(before)
        .map((line) => JSON.parse(line) as { level: number; reqId?: string; msg: string; err?: { message: string } })
        .filter((line) => line.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reqId, msg: "the page failed" });
      expect(errors[0]?.err?.message).toMatch(/reading 'map'/);
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
    // The browser sees the 500 document itself as a failed load; nothing else went wrong.
    expect(problems.filter((problem) => !/status of 500/.test(problem))).toEqual([]);
  });
});
