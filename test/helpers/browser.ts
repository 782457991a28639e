/**
 * A headless Chromium (Debian's package, driven by playwright-core: no browser download) for the
 * dashboard's browser tests. One browser per test file; each test gets a fresh context (its own
 * sessionStorage). Console errors and page errors are collected so a test can assert there were none.
 * Screenshots go to .tap/artifacts/dashboard/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { ROOT } from "./daemon.js";

export const CHROMIUM = process.env.BKG_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, ".tap", "artifacts", "dashboard");

/** Without these, Chromium keeps trying to reach Google's services on a machine with no network. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export interface TestBrowser {
  browser: Browser;
  /** A fresh context and page at `baseUrl`; `errors` collects console errors and uncaught page errors. */
  page(baseUrl: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }>;
  shot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // playwright-core gives every launch a fresh --user-data-dir of its own (removed at close).
  const owned = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true }).catch((e: Error) => {
    throw new Error(`cannot start ${CHROMIUM} (test/setup/ensure-tools.mjs installs Debian's chromium): ${e.message}`);
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser: owned,
    async page(baseUrl) {
      const context = await owned.newContext({ baseURL: baseUrl, viewport: { width: 1366, height: 860 }, permissions: ["clipboard-read", "clipboard-write"] });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
      return { context, page, errors };
    },
    async shot(page, name) {
      const file = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await owned.close().catch(() => undefined);
    },
  };
}

/**
 * The locator's count once it equals `expected`, or its count when `timeoutMs` runs out.
 * Playwright's count() does not wait: right after a fill, click or selectOption the page may
 * not have re-rendered yet, and a bare count() then reads the old DOM. A test asserts on what
 * this returns, so a page that never gets there still fails.
 */
export async function settledCount(locator: Locator, expected: number, timeoutMs = 5000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const n = await locator.count();
    if (n === expected || Date.now() >= until) return n;
    await new Promise((r) => setTimeout(r, 25));
  }
}
