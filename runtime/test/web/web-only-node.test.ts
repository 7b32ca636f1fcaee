import { afterAll, beforeAll, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { freePort } from "../support/redis-server.ts";
import { PageClient } from "./support/pages.ts";

// A node with only the web role reaches the control plane of another node over HTTP
// (ISOLA_CONTROL_URL): the same pages, the same session, nothing shared but the API.

let control: Api;
let web: Api;
beforeAll(async () => {
  control = await startApi(quickDatabase(), { ISOLA_ROLES: "control" }, { listen: true });
  web = await startApi(quickDatabase(), { ISOLA_ROLES: "web", ISOLA_CONTROL_URL: control.url });
}, 120_000);
afterAll(async () => {
  await web?.close();
  await control?.close();
});

it("signs up through the web node; the account lives on the control node", async () => {
  const browser = new PageClient(web.app, web.url);
  const email = `remote-${Date.now()}@example.com`;
  const signedUp = await browser.post("/signup", { email, password: "correct horse battery" });
  expect(signedUp.status).toBe(302);
  expect(browser.cookies.has("isola_session")).toBe(true);
  const dashboard = await browser.get("/dashboard");
  expect(dashboard.status).toBe(200);
  expect(dashboard.body).toContain(email);

  // The web node has no API of its own (a plain 404, not a page); the control node knows the account.
  const api = await browser.get("/api/v1/me");
  expect(api.status).toBe(404);
  expect(api.headers["content-type"]).toMatch(/^application\/json/);
  const login = await control.anonymous.post("auth/login", { email, password: "correct horse battery" });
  expect(login.status).toBe(200);
});

it("says in words when the control plane does not answer, never a blank page", async () => {
  const port = await freePort();
  const stranded = await startApi(quickDatabase(), {
    ISOLA_ROLES: "web",
    ISOLA_CONTROL_URL: `http://127.0.0.1:${port}`,
  });
  try {
    const page = await new PageClient(stranded.app, stranded.url).get("/dashboard");
    expect(page.status).toBe(503);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("The control plane did not answer");
    expect(page.body).toContain('role="alert"');
    // The landing page needs no control plane.
    expect((await new PageClient(stranded.app, stranded.url).get("/")).status).toBe(200);
  } finally {
    await stranded.close();
  }
});
