/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core) against a real daemon
 * with the real echo and apikeys plugins: every "Done when" item of issue 16. One browser for the
 * file; each block a fresh context (its own sessionStorage). Screenshots in .tap/artifacts/dashboard/.
 */
import t from "tap";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { ADMIN_PASSWORD, apikeysManifest, echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { launchBrowser, settledCount } from "../helpers/browser.js";

const run = promisify(execFile);
/** curl as an operator would type it. */
async function curl(url: string, key: string, body: unknown): Promise<{ status: number; body: any }> {
  const { stdout } = await run("curl", ["-s", "-w", "\n%{http_code}", "-H", `X-API-Key: ${key}`, "-H", "content-type: application/json", "-d", JSON.stringify(body), url]);
  const i = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(i + 1)), body: JSON.parse(stdout.slice(0, i)) };
}

async function signInAsUser(page: Page, username: string, password: string): Promise<void> {
  await page.goto("/");
  await page.waitForURL(/\/login/);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=whoami]");
}

// A browser, a daemon and two real plugins: slower than tap's default 120 s on a loaded 2-core machine.
t.setTimeout(600_000);

t.test("the dashboard against a real daemon", { timeout: 600_000 }, async (t) => {
  const d = await startTestDaemon({ apikeys: apikeysManifest(), echo: echoManifest() }, { http: { rateLimit: { perCredential: 100000, perIp: 100000 } } });
  const browser = await launchBrowser();
  t.teardown(async () => {
    await browser.close();
    await d.stop();
  });
  await d.waitState("apikeys", "ready");
  await d.waitState("echo", "ready");
  const base = d.httpUrl!;
  const asRoot = api(base, d.rootToken());

  t.test("routes outside the app keep working; deep links load the app", async (t) => {
    t.equal((await asRoot("GET", "/health")).json.status, "ok");
    t.equal((await asRoot("GET", "/api/plugins")).status, 200);
    t.equal((await asRoot("GET", "/metrics")).status, 200);
    t.ok((await asRoot("GET", "/openapi.json")).json.paths["/api/plugins"]);
    const nope = await asRoot("GET", "/api/no-such-route");
    t.equal(nope.status, 404, "an unknown /api route is a JSON 404, not the app");
    t.equal(nope.json.error.code, -32601);
    for (const path of ["/", "/plugins/echo", "/keys"]) {
      const r = await fetch(base + path);
      t.equal(r.status, 200, `${path} serves the app`);
      t.match(await r.text(), /<bkg-root>/);
    }
    t.equal((await fetch(`${base}/no-such-bundle.js`)).status, 404, "a missing file is a 404, not index.html");
  });

  t.test("the read routes the dashboard uses: status, masked config, per-minute series", async (t) => {
    for (let i = 0; i < 5; i++) t.equal((await asRoot("POST", "/api/call/echo/reverse", { body: { text: "abc" } })).json.result, "cba");
    const series = await asRoot("GET", "/api/telemetry/series?plugin=echo&since=15m");
    t.equal(series.status, 200);
    t.equal(series.json.plugins.length, 1, "only echo");
    const calls = series.json.plugins[0].points.reduce((n: number, p: { calls: number }) => n + p.calls, 0);
    t.ok(calls >= 5, `the five calls are in the series (${calls})`);
    t.ok(
      series.json.plugins[0].points.some((p: { p99?: number }) => typeof p.p99 === "number"),
      "a p99 per minute with calls",
    );
    t.equal((await asRoot("GET", "/api/telemetry/series?since=yesterday")).status, 400, "a bad time is a 400");
    const status = await asRoot("GET", "/api/status");
    t.equal(status.json.nodeVersion, process.version);
    t.equal(status.json.http.url, base);
    const config = await asRoot("GET", "/api/config");
    t.equal(config.json.http.dashboard, true);
    t.equal((await fetch(`${base}/api/config`)).status, 401, "the config needs a credential");
  });

  t.test("log in, overview shows echo ready, no console errors", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "admin", ADMIN_PASSWORD);
    const card = page.getByTestId("plugin-card-echo");
    await card.getByTestId("state").filter({ hasText: "ready" }).waitFor();
    t.equal(await card.getByTestId("state").textContent(), "ready");
    t.match(await page.getByTestId("daemon-summary").textContent(), /0\.1\.0/);
    await page.getByTestId("plugin-card-echo").locator("svg").first().waitFor();
    await browser.shot(page, "overview");
    // The dark theme, kept across reloads.
    await page.getByRole("button", { name: /dark theme/ }).click();
    t.ok(await page.evaluate(() => document.documentElement.classList.contains("dark")));
    await browser.shot(page, "overview-dark");
    await page.getByRole("button", { name: /light theme/ }).click();
    t.same(errors, [], "no console errors");
  });

  t.test("stop and start echo from its page and see the state change live; call echo.stream from the form; follow the logs", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "admin", ADMIN_PASSWORD);
    await page.goto("/plugins/echo");
    const state = page.getByTestId("plugin-state");
    await state.filter({ hasText: "ready" }).waitFor();

    await page.getByTestId("control-stop").click();
    await page.getByRole("dialog").waitFor();
    await browser.shot(page, "plugin-confirm-stop");
    await page.getByTestId("confirm-ok").click();
    await state.filter({ hasText: "stopped" }).waitFor();
    t.equal((await asRoot("GET", "/api/plugins/echo")).json.state, "stopped", "the daemon agrees");

    await page.getByTestId("control-start").click();
    await page.getByTestId("confirm-ok").click();
    await state.filter({ hasText: "ready" }).waitFor();
    t.pass("echo went stopped -> ready on the page");

    // The generated form: invalid params are shown at the field, nothing is called.
    await page.getByTestId("method-stream").click();
    await page.click("button:has-text('Call')");
    t.match(await page.getByTestId("field-error-n").textContent(), /required/);
    await page.fill("#m-stream-n", "-3");
    await page.click("button:has-text('Call')");
    t.match(await page.getByTestId("field-error-n").textContent(), />= 0/);

    await page.fill("#m-stream-n", "5");
    await page.fill("#m-stream-delayMs", "30");
    await page.click("button:has-text('Call')");
    await page.getByTestId("call-result").waitFor();
    t.equal(await page.getByTestId("chunk").count(), 5, "five chunks shown");
    t.same(JSON.parse((await page.getByTestId("chunk").first().textContent())!), { i: 0 });
    t.same(JSON.parse((await page.getByTestId("call-result").textContent())!), { count: 5 });

    // A long stream, cancelled from the page.
    await page.fill("#m-stream-n", "1000");
    await page.fill("#m-stream-delayMs", "50");
    await page.click("button:has-text('Call')");
    await page.getByTestId("chunk").nth(2).waitFor();
    await page.getByTestId("cancel-call").click();
    await page.getByTestId("call-error").waitFor();
    t.match(await page.getByTestId("call-error").textContent(), /cancel/i);
    t.ok((await page.getByTestId("chunk").count()) < 1000, "the stream stopped early");
    await browser.shot(page, "plugin-stream");

    // Live logs: the restart above is in them, and a new line arrives while the page is open.
    const logView = page.getByTestId("log-view");
    await logView
      .getByText(/echo#2 ready/)
      .first()
      .waitFor();
    await page.getByTestId("method-sleep").click();
    await page.fill("#m-sleep-ms", "60000");
    await page.click("button:has-text('Call')");
    await d.waitInFlight("echo");
    await page.getByTestId("cancel-call").click();
    await logView.getByText("sleep observed cancellation").waitFor();
    await page.fill("#log-search", "observed");
    t.equal(await settledCount(logView.getByTestId("log-line"), 1), 1, "search narrows the lines");
    await page.fill("#log-search", "");
    await page.selectOption("#log-level", "warn");
    t.equal(await settledCount(logView.getByText("sleep observed cancellation"), 0), 0, "the level filter hides info lines");
    await page.selectOption("#log-level", "debug");
    await browser.shot(page, "plugin");
    t.same(errors, [], "no console errors");
  });

  t.test("create an API key, use it with curl, revoke it and see it refused", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "API keys" }).click();
    await page.fill("#k-name", "from-the-dashboard");
    await page.selectOption("#k-role", "operator");
    await page.fill("#k-scopes", "echo.*");
    await page.click("button:has-text('Create key')");
    const key = await page.getByTestId("new-key").inputValue();
    t.match(key, /^bkg_live_/);
    await browser.shot(page, "keys-created");
    await page.getByRole("button", { name: "Copy" }).click();
    t.equal(await page.evaluate(() => navigator.clipboard.readText()), key, "the copy button copies the key");

    const ok = await curl(`${base}/api/call/echo/reverse`, key, { text: "abc" });
    t.same(ok, { status: 200, body: { result: "cba" } }, "curl with the new key");

    await page.getByTestId("revoke-from-the-dashboard").click();
    await page.getByTestId("confirm-ok").click();
    await page.getByTestId("revoke-from-the-dashboard").waitFor({ state: "detached" });
    const refused = await curl(`${base}/api/call/echo/reverse`, key, { text: "abc" });
    t.equal(refused.status, 401, "the revoked key is refused");
    t.equal(refused.body.error.details.reason, "revoked");
    t.same(errors, [], "no console errors");
  });

  t.test("admin pages: add a user from the page and sign in as them; rotate a key; restart echo; a crash report", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "admin", ADMIN_PASSWORD);

    await page.getByRole("link", { name: "Users" }).click();
    await page.fill("#u-name", "otto");
    await page.fill("#u-pass", "an operator's password");
    await page.selectOption("#u-role", "operator");
    await page.click("button:has-text('Add user')");
    await page.getByTestId("users-table").getByText("otto").waitFor();
    const other = await browser.page(base);
    await signInAsUser(other.page, "otto", "an operator's password");
    t.match(await other.page.getByTestId("whoami").textContent(), /otto\s*operator/, "the new user signs in with their role");
    await other.context.close();

    await page.getByRole("link", { name: "API keys" }).click();
    await page.fill("#k-name", "rotated");
    await page.selectOption("#k-role", "operator");
    await page.fill("#k-scopes", "echo.*");
    await page.fill("#k-exp", "30");
    await page.click("button:has-text('Create key')");
    const first = await page.getByTestId("new-key").inputValue();
    t.match(await page.getByTestId("key-rotated").textContent(), /echo\.\*/, "the scopes are listed");
    t.notMatch(await page.getByTestId("key-rotated").textContent(), /never/, "and the expiry");
    await page.getByTestId("key-rotated").getByRole("button", { name: "Rotate" }).click();
    await page.getByTestId("confirm-ok").click();
    await page.waitForFunction((old) => (document.querySelector("[data-testid=new-key]") as HTMLInputElement | null)?.value !== old, first);
    const second = await page.getByTestId("new-key").inputValue();
    t.match(second, /^bkg_live_/, "the rotated secret is shown once");
    t.equal((await curl(`${base}/api/call/echo/reverse`, second, { text: "abc" })).status, 200, "the new secret works");
    t.equal((await curl(`${base}/api/call/echo/reverse`, first, { text: "abc" })).status, 401, "the old one is refused at once");

    await page.goto("/plugins/echo");
    const state = page.getByTestId("plugin-state");
    await state.filter({ hasText: "ready" }).waitFor();
    const pidBefore = (await asRoot("GET", "/api/plugins/echo")).json.pids[0];
    await page.getByTestId("control-restart").click();
    await page.getByRole("dialog").getByText("unavailable in between").waitFor();
    await page.getByTestId("confirm-ok").click();
    await d.waitFor(async () => {
      const p = (await asRoot("GET", "/api/plugins/echo")).json;
      return p.state === "ready" && p.pids.length > 0 && !p.pids.includes(pidBefore);
    }, "a new echo instance after the restart");
    await state.filter({ hasText: "ready" }).waitFor();
    t.pass("restart from the page: a new echo instance is ready");

    // A crash: the plugin page shows the last crash report.
    t.equal(await page.getByTestId("last-crash").count(), 0, "no crash report yet");
    await asRoot("POST", "/api/call/echo/crash", { body: {} });
    await page.getByTestId("last-crash").waitFor({ timeout: 30_000 });
    t.match(await page.getByTestId("last-crash").textContent(), /code|signal/, "the crash report (exit code or signal)");
    await d.waitState("echo", "ready");
    t.match(await page.getByTestId("manifest").textContent(), /"provides"/, "the manifest, read-only");
    await browser.shot(page, "plugin-crash-report");

    // The events page filters: by plugin and text.
    await page.getByRole("link", { name: "Events & audit" }).click();
    await page.getByTestId("events-table").waitFor();
    await page.fill("#ev-plugin", "echo");
    await page.click("button:has-text('Apply')");
    await page.fill("#ev-text", "restart");
    await page
      .getByTestId("events-table")
      .getByText(/plugins\.restart/)
      .first()
      .waitFor();
    const rows = await page.getByTestId("events-table").locator("tbody tr").allTextContents();
    t.ok(rows.length > 0 && rows.every((r) => /restart/i.test(r)), `every shown row matches the text filter (${rows.length})`);
    t.same(errors, [], "no console errors");
  });

  t.test("keyboard-usable, and no sideways scrolling on a 1280x720 laptop screen", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await page.setViewportSize({ width: 1280, height: 720 });
    // Signing in with the keyboard alone.
    await page.goto("/login");
    await page.locator("#username").focus();
    await page.keyboard.type("admin");
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByTestId("whoami").waitFor();
    await page.getByTestId("plugin-card-echo").waitFor();
    await page.keyboard.press("Tab");
    t.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Skip to content", "the first Tab stop skips the navigation");
    for (const path of ["/", "/plugins/echo", "/events", "/keys", "/settings"]) {
      await page.goto(path);
      await page.locator("main h1, main [data-testid=plugin-state]").first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.ok(overflow <= 0, `${path}: no horizontal scrolling at 1280 px (${overflow} px over)`);
    }
    // A confirmation opened with Enter, closed with Escape: nothing happens.
    await page.goto("/plugins/echo");
    await page.getByTestId("plugin-state").filter({ hasText: "ready" }).waitFor();
    await page.getByTestId("control-stop").focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor();
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "confirm-ok", "focus moves into the dialog");
    await page.keyboard.press("Escape");
    await page.getByRole("dialog").waitFor({ state: "hidden" });
    t.equal((await asRoot("GET", "/api/plugins/echo")).json.state, "ready", "Escape cancelled: echo still runs");
    await browser.shot(page, "plugin-laptop");
    t.same(errors, [], "no console errors");
  });

  t.test("a viewer cannot see the Users page nor the controls", async (t) => {
    const created = await asRoot("POST", "/api/users", { body: { username: "vera", password: "a viewer's password", role: "viewer" } });
    t.equal(created.status, 201);
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "vera", "a viewer's password");
    await page.getByTestId("plugin-card-echo").waitFor();
    t.equal(await page.getByRole("link", { name: "Users" }).count(), 0, "no Users link");
    t.equal(await page.getByRole("link", { name: "API keys" }).count(), 0, "no API keys link");
    await page.goto("/users");
    await page.waitForURL((u) => u.pathname === "/");
    t.equal(await page.getByTestId("users-table").count(), 0, "/users sends a viewer to the overview");
    await page.goto("/plugins/echo");
    await page.getByTestId("plugin-state").waitFor();
    t.equal(await page.getByTestId("control-stop").count(), 0, "no stop button for a viewer");
    // The server enforces it anyway.
    const token = await page.evaluate(() => sessionStorage.getItem("bkg.token"));
    const stop = await api(base, token!)("POST", "/api/plugins/echo/stop");
    t.equal(stop.status, 403);
    t.same(errors, [], "no console errors");
  });

  t.test("an expired or revoked session sends back to login, saying why", async (t) => {
    const { context, page } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "admin", ADMIN_PASSWORD);
    await page.evaluate(() => sessionStorage.setItem("bkg.token", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.x"));
    await page.goto("/events");
    await page.waitForURL(/\/login/);
    t.pass("a credential the daemon refuses leads to the login page");
    // Signed in, then the user is deleted: the next request is refused and the page goes to login.
    await asRoot("POST", "/api/users", { body: { username: "temp", password: "temporary password", role: "operator" } });
    await signInAsUser(page, "temp", "temporary password");
    await asRoot("DELETE", "/api/users/temp");
    // The live link is closed at once (4401); if the page has not noticed yet, its next request is refused.
    await page.waitForURL(/\/login/, { timeout: 3000 }).catch(async () => {
      await page.getByRole("link", { name: "Settings" }).click();
      await page.waitForURL(/\/login/);
    });
    await page.getByTestId("login-notice").waitFor();
    t.match(await page.getByTestId("login-notice").textContent(), /Signed out/);
    await browser.shot(page, "login-expired");
  });

  t.test("events, users, settings pages render (screenshots)", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInAsUser(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Events & audit" }).click();
    await page.getByTestId("events-table").waitFor();
    t.match(await page.getByTestId("events-table").textContent(), /plugins\.stop/, "the stop is in the audit events");
    await page.getByTestId("audit-table").waitFor();
    await browser.shot(page, "events");
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByTestId("users-table").getByText("vera").waitFor();
    await browser.shot(page, "users");
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByTestId("config").waitFor();
    t.match(await page.getByTestId("endpoints").textContent(), new RegExp(base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    await browser.shot(page, "settings");
    t.same(errors, [], "no console errors");
  });
});
