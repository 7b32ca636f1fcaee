import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

/**
 * A real browser for the web app's end-to-end tests: Debian's Chromium, headless, driven by
 * playwright-core. Launched once per test file; each test gets a fresh context (cookies,
 * storage) and page. There is no skipping: a machine without Chromium fails with how to get it.
 */

// /usr/bin/chromium is Debian's wrapper script, which misbehaves headless: the binary first.
const CHROMIUM = [process.env.ISOLA_CHROMIUM, "/usr/lib/chromium/chromium", "/usr/bin/chromium"];
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export const SCREENSHOTS_DIR = fileURLToPath(new URL("../../../../results/screenshots/", import.meta.url));
export const VIEWPORTS = { desktop: { width: 1280, height: 800 }, mobile: { width: 390, height: 844 } } as const;

export function chromiumPath(): string {
  const found = CHROMIUM.find((path) => path && existsSync(path));
  if (found) return found;
  throw new Error(
    "Chromium is not installed, and the web app's browser tests need it. Install it with " +
      "`sudo apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this), or set ISOLA_CHROMIUM " +
      "to a Chromium or Chrome executable.",
  );
}

export interface BrowserTest {
  /** The current test's page (a fresh context per test). */
  page(): Page;
  /** Another isolated context in the same test, e.g. with JavaScript off. */
  newContext(options?: Parameters<Browser["newContext"]>[0]): Promise<BrowserContext>;
}

/** Registers the hooks: one browser for the file, one context per test. */
export function useBrowser(): BrowserTest {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const extra: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: FLAGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    context = await (browser as Browser).newContext({ viewport: VIEWPORTS.desktop });
    page = await context.newPage();
  });
  afterEach(async () => {
    for (const other of extra.splice(0)) await other.close();
    await context?.close();
  });
  return {
    page: () => page as Page,
    newContext: async (options) => {
      const other = await (browser as Browser).newContext({ viewport: VIEWPORTS.desktop, ...options });
      extra.push(other);
      return other;
    },
  };
}

// Code that runs in the page is passed as text: these tests are type-checked without the DOM's types.

/** The font families the page has loaded, once the given faces (CSS font shorthands) are in. */
export async function loadedFonts(page: Page, faces: string[]): Promise<string[]> {
  return page.evaluate(`(async () => {
    await Promise.all(${JSON.stringify(faces)}.map((face) => document.fonts.load(face)));
    return [...document.fonts].filter((font) => font.status === "loaded").map((font) => font.family);
  })()`);
}

/** The page's cumulative layout shift so far (0: nothing moved). */
export async function layoutShift(page: Page): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    let total = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) total += entry.value;
    }).observe({ type: "layout-shift", buffered: true });
    setTimeout(() => resolve(total), 300);
  })`);
}

/** Saves what the page shows at desktop (1280x800) and mobile (390x844) widths: results/screenshots/<name>-*.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const before = page.viewportSize();
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${SCREENSHOTS_DIR}${name}-${label}.png` });
  }
  if (before) await page.setViewportSize(before);
}
