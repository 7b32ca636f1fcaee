// The page behind Isola's URL-mode elicitation, in a real browser: an MCP client calls set_secret,
// Isola sends it the page's URL, the signed-in user opens it, is refused an empty required field,
// enters the value and sees "Saved"; the tool call then returns with the secret set. A link that is
// unknown (or expired, used, another account's) says so in words.
import { randomBytes } from "node:crypto";
import { createSecretVault, loadSecretKey } from "@isola/control";
import { beforeAll, describe, expect, it } from "vitest";
import { connectIsola, dataOf, type IsolaClient, textOf, tokenOf, urlParams } from "../control-mcp/isola-client.ts";
import { deployHello } from "../support/api-harness.ts";
import { screenshot, useBrowser } from "./support/browser.ts";
import { shareSession, useIsola } from "./support/isola.ts";

const api = useIsola();
let cookie: string;
let token: string;
const slug = "page-secrets";

beforeAll(async () => {
  const user = await api.signup();
  cookie = String(user.session.headers.cookie);
  await deployHello(user.session, slug);
  token = tokenOf(await api.tokenFor(user.session, user.org));
}, 120_000);

const browser = useBrowser();

describe("the secret request page", () => {
  it("set_secret -> the page -> a refused empty field -> Saved -> the tool call returns the secret set", async () => {
    const value = `sk-page-${randomBytes(12).toString("hex")}`;
    let opened: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => {
      opened = resolve;
    });
    // Like a real client: the user agrees to open the page; the value then goes from the browser to Isola.
    const isola: IsolaClient = await connectIsola(api, token, {
      elicit: (params) => {
        opened(urlParams(params).url);
        return { action: "accept" };
      },
    });
    try {
      const call = isola.call("set_secret", { server: slug, name: "PAGE_API_KEY" });
      // Awaited below; a failure before that must not also surface as an unhandled rejection.
      call.catch(() => {});
      const page = browser.page();
      await shareSession(page.context(), api, cookie);
      const response = await page.goto(await url);
      expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
      expect(response?.headers()["cache-control"]).toBe("no-store");
      await page.getByRole("heading", { level: 1, name: "Enter secrets" }).waitFor();
      await page.getByText(`Enter the value of PAGE_API_KEY for the server ${slug}`).waitFor();
      const field = page.getByLabel("PAGE_API_KEY (required)");
      expect(await field.getAttribute("type")).toBe("password");
      expect(await field.getAttribute("autocomplete")).toBe("off");
      expect(await page.getByText("ctx.env.PAGE_API_KEY").count()).toBe(1);
      await screenshot(page, "secret-request");

      await page.getByRole("button", { name: "Save" }).click();
      await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
      expect(await page.locator("#field-PAGE_API_KEY-error").textContent()).toBe("enter PAGE_API_KEY");
      await screenshot(page, "secret-request-refused");

      await field.fill(value);
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByTestId("secret-request-saved").getByText("Saved. Go back to your AI client.").waitFor();
      expect(await page.content()).not.toContain(value);
      await screenshot(page, "secret-request-saved");

      const result = await call;
      expect(dataOf(result)).toMatchObject({ name: "PAGE_API_KEY", revision: 1 });
      expect(textOf(result)).not.toContain(value);
      expect(isola.completions).toEqual([urlParams(isola.elicitations[0]).elicitationId]);
      const server = await api.stores.db
        .selectFrom("servers")
        .select("id")
        .where("slug", "=", slug)
        .executeTakeFirstOrThrow();
      const vault = createSecretVault({ db: api.stores.db, key: loadSecretKey(api.config, { warn: () => {} }) });
      expect(await vault.envFor(server.id)).toMatchObject({ PAGE_API_KEY: value });
      expect(api.logs.join("\n")).not.toContain(value);

      // Used once: the same link now says it is not open.
      await page.goto(await url);
      await page.getByTestId("secret-request-missing").getByText("This link has expired, was already used").waitFor();
    } finally {
      await isola.close();
    }
  });

  it("an unknown link says in words that there is nothing to enter", async () => {
    const page = browser.page();
    await shareSession(page.context(), api, cookie);
    await page.goto(`${api.url}/secret-requests/${randomBytes(16).toString("base64url")}`);
    await page.getByRole("heading", { level: 1, name: "This request is not open" }).waitFor();
    await page.getByRole("alert").getByText("Nothing to enter here").waitFor();
    await screenshot(page, "secret-request-missing");
  });
});
