import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { quickDatabase } from "../support/mcp.ts";
import { PageClient } from "./support/pages.ts";

// The web role answers every URL no other role routes; the others keep their own answers,
// their own 404s included.

let api: Api;
beforeAll(async () => {
  api = await startApi(quickDatabase());
}, 120_000);
afterAll(async () => {
  await api?.close();
});

const pages = () => new PageClient(api.app, api.url);

describe("the URL space is shared without shadowing", () => {
  it.each(["/api/v1/nope", "/api/v1/servers/x/nope", "/api/v1/"])(
    "unknown %s is still a problem+json 404",
    async (url) => {
      const page = await pages().get(url);
      expect(page.status).toBe(404);
      expect(page.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(page.body)).toMatchObject({ type: "urn:isola:problem:not-found" });
    },
  );

  it.each(["/.well-known/oauth-protected-resource", "/.well-known/nope", "/_isola/nope", "/a/b/mcp", "/api/v2"])(
    "unknown %s of another role keeps a JSON 404",
    async (url) => {
      const page = await pages().get(url);
      expect(page.status).toBe(404);
      expect(page.headers["content-type"]).toMatch(/^application\/json/);
    },
  );

  it.each(["/anything-unknown", "/nothing/here", "/orgs/acme/members", "/deeply/nested/unknown/page"])(
    "%s reaches the web app, whose 404 page says so in words",
    async (url) => {
      const page = await pages().get(url);
      expect(page.status).toBe(404);
      expect(page.headers["content-type"]).toMatch(/^text\/html/);
      expect(page.body).toContain("Page not found");
      expect(page.body).toContain('<html lang="en">');
    },
  );

  it("the other roles' routes answer as before", async () => {
    const client = pages();
    expect(JSON.parse((await client.get("/healthz")).body)).toEqual({ status: "ok" });
    const metadata = await client.get("/.well-known/oauth-authorization-server/oauth");
    expect(JSON.parse(metadata.body)).toMatchObject({ issuer: `${api.url}/oauth` });
    const mcp = await client.request("POST", "/no-such-server/mcp", "{}", { "content-type": "application/json" });
    expect(mcp.status).toBe(404);
    expect(JSON.parse(mcp.body)).toMatchObject({ jsonrpc: "2.0", error: { message: "no such server" } });
    expect((await client.get("/api/v1/me")).status).toBe(401);
  });

  it("answers HEAD like GET, without a body", async () => {
    const page = await pages().request("HEAD", "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toBe("");
  });

  it("pages behind sign-in send the browser to /signin, with the way back", async () => {
    const page = await pages().get("/dashboard?tab=x");
    expect(page.status).toBe(302);
    expect(page.location).toBe("/signin?next=%2Fdashboard%3Ftab%3Dx");
  });

  it("serves the built assets with immutable caching, and pages with frame protection", async () => {
    const landing = await pages().get("/");
    expect(landing.status).toBe(200);
    expect(landing.headers["x-frame-options"]).toBe("DENY");
    const css = /href="(\/assets\/app-[^"]+\.css)"/.exec(landing.body)?.[1];
    const font = /href="(\/assets\/Geist-Variable-[^"]+\.woff2)"/.exec(landing.body)?.[1];
    expect(css && font).toBeTruthy();
    for (const asset of [css, font] as string[]) {
      const response = await pages().get(asset);
      expect(response.status).toBe(200);
      expect(response.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    }
    // No page reaches another host for a font or a script: everything comes from /assets.
    expect(landing.body).not.toMatch(/(src|href)="https?:\/\//);
  });
});

describe("forms: checked, relayed, and not sendable from another site", () => {
  it.each([
    ["another site's Origin", "https://evil.example"],
    ["no Origin and no Sec-Fetch-Site", null],
  ])("refuses a form post with %s (403, before the app runs)", async (_name, origin) => {
    const fields = { email: "victim@example.com", password: "correct horse battery" };
    const page = await pages().post("/signup", fields, { origin });
    expect(page.status).toBe(403);
    expect(page.body).toContain("This form was refused");
    expect(page.setCookies).toEqual([]);
    // Nothing was created: signing in with that account fails.
    const login = await api.anonymous.post("auth/login", {
      email: "victim@example.com",
      password: "correct horse battery",
    });
    expect(login.status).toBe(401);
  });

  it("refuses a form over 1 MB before reading it (413)", async () => {
    const page = await pages().post("/signup", { email: "a@example.com", password: "x".repeat(1024 * 1024) });
    expect(page.status).toBe(413);
    expect(page.body).toContain("the form is too large");
  });

  it("shows the schema's field errors next to the fields (400), keeping the email", async () => {
    const page = await pages().post("/signup", { email: "not-an-email", password: "short" });
    expect(page.status).toBe(400);
    expect(page.body).toMatch(/id="field-email"[^>]*aria-invalid="true"[^>]*aria-describedby="field-email-error"/);
    expect(page.body).toMatch(/id="field-email-error">Invalid email address</);
    expect(page.body).toMatch(/id="field-password-error">at least 10 characters</);
    expect(page.body).toContain('value="not-an-email"');
    expect(page.body).not.toContain('value="short"');
  });

  it("renders control's problems in words (wrong password: 401)", async () => {
    const page = await pages().post("/signin", { email: "nobody@example.com", password: "wrong password" });
    expect(page.status).toBe(401);
    expect(page.body).toContain("Email or password is wrong");
    expect(page.body).toContain('role="alert"');
  });

  it("signs up, relaying control's session cookie; signs out, relaying its removal", async () => {
    const browser = pages();
    const email = `web-${Date.now()}@example.com`;
    const signedUp = await browser.post("/signup", { email, password: "correct horse battery" });
    expect(signedUp.status).toBe(302);
    expect(signedUp.location).toBe("/dashboard");
    const session = signedUp.setCookies.find((line) => line.startsWith("isola_session="));
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);

    const dashboard = await browser.get("/dashboard");
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toContain(email);
    expect(dashboard.body).toContain("Your account is ready.");

    const signedOut = await browser.post("/signout", {});
    expect(signedOut.status).toBe(302);
    expect(signedOut.location).toBe("/signin");
    expect(browser.cookies.has("isola_session")).toBe(false);
    expect((await browser.get("/dashboard")).location).toBe("/signin?next=%2Fdashboard");
  });

  it("signs in and goes back where the browser was going, but never off-site", async () => {
    const { email } = await api.signup();
    const browser = pages();
    const back = await browser.post("/signin?next=%2Forgs", {
      email,
      password: "correct horse battery",
      next: "/orgs",
    });
    expect(back.location).toBe("/orgs");
    const away = await pages().post("/signin", { email, password: "correct horse battery", next: "//evil.example/" });
    expect(away.location).toBe("/dashboard");
  });
});

it("a node with the web role but neither control nor ISOLA_CONTROL_URL does not start", async () => {
  await expect(startApi(quickDatabase(), { ISOLA_ROLES: "web" })).rejects.toThrow(
    "the web role needs the control role on the same node, or ISOLA_CONTROL_URL",
  );
});
