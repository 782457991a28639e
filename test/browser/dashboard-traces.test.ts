/**
 * The dashboard's Traces pages in a real browser (Debian's Chromium via playwright-core) against a
 * real daemon (issue 18, "the dashboard shows a recent trace"): two real echo plugins, "front"
 * calling "back" through bkg/call (echo's relay method), one call through HTTP, and the trace the
 * daemon recorded shown as a waterfall with the parent span above its child. One browser and one
 * daemon for the file; each block a fresh context. Screenshots in .tap/artifacts/dashboard/.
 */
import t from "tap";
import type { Page } from "playwright-core";
import { echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { api } from "../helpers/http.js";
import { launchBrowser } from "../helpers/browser.js";

/** Signs in with the root token (no auth plugin: the daemon checks it itself, so no call is traced). */
async function signInWithToken(page: Page, token: string): Promise<void> {
  await page.goto("/login");
  await page.getByRole("tab", { name: "API key or token" }).click();
  await page.fill("#key", token);
  await page.click("button[type=submit]");
  await page.getByTestId("whoami").waitFor();
}

/** The rows of the waterfall as the page shows them, top to bottom. */
async function waterfallRows(page: Page): Promise<{ name: string; depth: number; outcome: string; left: number; right: number }[]> {
  return page.getByTestId("span-row").evaluateAll((rows) =>
    rows.map((row) => {
      const bar = row.querySelector("[data-testid=span-bar]")!.getBoundingClientRect();
      return {
        name: row.querySelector("[data-testid=span-name]")!.textContent!.trim(),
        depth: Number(row.getAttribute("data-depth")),
        outcome: row.getAttribute("data-outcome")!,
        left: bar.left,
        right: bar.right,
      };
    }),
  );
}

// A browser, a daemon and two plugins: slower than tap's default 120 s on a loaded 2-core machine.
t.setTimeout(300_000);

t.test("the dashboard shows a recent trace", { timeout: 300_000 }, async (t) => {
  const d = await startTestDaemon({
    front: echoManifest("front", { permissions: ["back.*"] }),
    back: echoManifest("back"),
  });
  const browser = await launchBrowser();
  t.teardown(async () => {
    await browser.close();
    await d.stop();
  });
  await d.waitState("front", "ready");
  await d.waitState("back", "ready");
  const base = d.httpUrl!;
  const asRoot = api(base, d.rootToken());

  t.test("before any call: the empty state says where traces come from", async (t) => {
    t.same((await asRoot("GET", "/api/traces")).json, { traces: [] }, "the daemon has no trace yet");
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInWithToken(page, d.rootToken());
    await page.getByRole("link", { name: "Traces" }).click();
    await page.waitForURL(/\/traces$/);
    t.match(await page.getByTestId("traces-empty").textContent(), /No traces yet: calls made through the daemon appear here/);
    await browser.shot(page, "traces-empty");
    t.same(errors, [], "no console errors");
  });

  t.test("a call through HTTP, front -> bkg/call -> back: the list shows it, the waterfall has the parent above the child", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInWithToken(page, d.rootToken());
    await page.goto("/traces");
    await page.getByTestId("traces-empty").waitFor();

    const call = await asRoot("POST", "/api/call/front/relay", { body: { method: "back.reverse", params: { text: "abc" } } });
    t.same(call.json, { result: "cba" }, "front called back through bkg/call");

    // The list refreshes itself every 5 s; the button is quicker.
    await page.getByTestId("traces-refresh").click();
    const table = page.getByTestId("traces-table");
    await table.waitFor();
    const listed = (await asRoot("GET", "/api/traces?limit=10")).json.traces;
    t.equal(listed.length, 1, "one trace recorded");
    const trace = listed[0];
    t.match(trace, { root: "front.relay", spanCount: 2, error: false });
    const row = page.getByTestId(`trace-${trace.traceId}`);
    t.match(await row.textContent(), /front\.relay[\s\S]*2[\s\S]*ok/, "root, span count and outcome in the row");
    await browser.shot(page, "traces-list");

    await row.getByRole("link").click();
    await page.waitForURL(new RegExp(`/traces/${trace.traceId}`));
    await page.getByTestId("waterfall").waitFor();
    const rows = await waterfallRows(page);
    t.same(
      rows.map((r) => [r.name, r.depth, r.outcome]),
      [
        ["front.relay", 0, "ok"],
        ["back.reverse", 1, "ok"],
      ],
      "two spans: the parent (front.relay) above its child (back.reverse), indented one level",
    );
    t.ok(rows[1].left >= rows[0].left - 0.5 && rows[1].right <= rows[0].right + 0.5, "the child's bar lies within its parent's (it ran inside it)");
    t.match(await page.getByTestId("trace-summary").textContent(), /2 spans/);

    // The root is selected first; its details are beside the waterfall.
    const details = page.getByTestId("span-details");
    t.equal(await details.getByTestId("detail-plugin").textContent(), "front");
    t.equal(await details.getByTestId("detail-method").textContent(), "relay");
    await browser.shot(page, "trace-waterfall");

    // The keyboard moves to the child: its details, and the URL names it.
    await page.getByTestId("span-row").first().getByRole("button").focus();
    await page.keyboard.press("ArrowDown");
    await details.getByTestId("detail-plugin").filter({ hasText: "back" }).waitFor();
    t.equal(await details.getByTestId("detail-method").textContent(), "reverse");
    t.match(await details.getByTestId("detail-caller").textContent(), /front/, "the child was called by front");
    t.ok(await page.evaluate(() => document.activeElement?.closest("[data-testid=span-row]")?.getAttribute("data-depth") === "1"), "focus followed to the child's row");
    const spans = (await asRoot("GET", `/api/traces/${trace.traceId}`)).json.spans as { spanId: string; parentSpanId?: string; name: string }[];
    const child = spans.find((s) => s.name === "back.reverse")!;
    t.equal(child.parentSpanId, spans.find((s) => s.name === "front.relay")!.spanId, "the daemon agrees: back.reverse is front.relay's child");
    t.equal(new URL(page.url()).searchParams.get("span"), child.spanId, "the selected span is in the URL");

    // A deep link to that URL shows the same view after a reload.
    await page.reload();
    await page.getByTestId("waterfall").waitFor();
    await details.getByTestId("detail-plugin").filter({ hasText: "back" }).waitFor();
    t.pass("the deep link selects the child again");
    // A link naming a span the trace does not have shows the root instead of nothing.
    await page.goto(`/traces/${trace.traceId}?span=0000000000000bad`);
    await page.getByTestId("waterfall").waitFor();
    t.equal(await details.getByTestId("detail-plugin").textContent(), "front", "a stale ?span= falls back to the root");
    t.same(errors, [], "no console errors");
  });

  t.test("a failed call: the open list picks it up by itself, flags it, and the failed span shows its error code", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInWithToken(page, d.rootToken());
    await page.goto("/traces");
    await page.getByTestId("traces-table").waitFor();
    const failed = await asRoot("POST", "/api/call/front/relay", { body: { method: "back.fail", params: {} } });
    t.ok(failed.status >= 400, `the call failed (${failed.status})`);
    const trace = (await asRoot("GET", "/api/traces?limit=10")).json.traces.find((x: { error: boolean }) => x.error);
    t.ok(trace, "an error trace is listed");
    // No click: the page refreshes itself every 5 s.
    await page.getByTestId(`trace-${trace.traceId}`).waitFor({ timeout: 20_000 });
    t.match(await page.getByTestId(`trace-${trace.traceId}`).textContent(), /error/);
    const rowsShown = page.getByTestId("traces-table").locator("tbody tr");
    t.equal(await rowsShown.count(), 2, "both traces before filtering");
    await page.getByText("Only traces with an error").click();
    // The table re-renders on the next change detection, not during click().
    await rowsShown.nth(1).waitFor({ state: "detached" });
    t.equal(await rowsShown.count(), 1, "the error filter keeps only the failed trace");
    t.equal(await page.getByTestId(`trace-${trace.traceId}`).count(), 1, "and it is the failed one");

    await page.goto(`/traces/${trace.traceId}`);
    await page.getByTestId("waterfall").waitFor();
    const rows = await waterfallRows(page);
    t.same(
      rows.map((r) => [r.name, r.depth]),
      [
        ["front.relay", 0],
        ["back.fail", 1],
      ],
    );
    t.equal(rows[1].outcome, "error", "the child failed");
    await page.getByTestId("span-row").nth(1).getByRole("button").click();
    await page.getByTestId("detail-method").filter({ hasText: "fail" }).waitFor();
    t.match(await page.getByTestId("detail-outcome").textContent(), /error/);
    t.match(await page.getByTestId("detail-error-code").textContent(), /^-?\d+$/, "its error code");
    await browser.shot(page, "trace-error");
    t.same(errors, [], "no console errors");
  });

  t.test("a caller's traceparent: the trace is opened by its id, the root marked as having its parent outside bkg", async (t) => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const call = await asRoot("POST", "/api/call/front/relay", { body: { method: "back.echo", params: { hi: 1 } }, headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    t.equal(call.status, 200);
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInWithToken(page, d.rootToken());
    await page.goto(`/traces/${traceId}`);
    await page.getByTestId("waterfall").waitFor();
    t.same(
      (await waterfallRows(page)).map((r) => [r.name, r.depth]),
      [
        ["front.relay", 0],
        ["back.echo", 1],
      ],
      "the trace joined the caller's: its id is the one the caller sent",
    );
    t.match(await page.getByTestId("span-row").first().textContent(), /parent elsewhere/, "the root's parent is the caller's span, outside bkg");
    t.match(await page.getByTestId("span-details").textContent(), new RegExp(`${callerSpan}[\\s\\S]*not in this trace`));
    await browser.shot(page, "trace-traceparent");
    t.same(errors, [], "no console errors");
  });

  t.test("a method tried on a plugin's page links to its own trace", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await signInWithToken(page, d.rootToken());
    await page.goto("/plugins/front");
    await page.getByTestId("plugin-state").filter({ hasText: "ready" }).waitFor();
    await page.getByTestId("method-relay").click();
    await page.fill("#m-relay-method", "back.reverse");
    await page.fill("#m-relay-params", '{"text": "from the page"}');
    await page.click("button:has-text('Call')");
    await page.getByTestId("call-result").waitFor();
    t.same(JSON.parse((await page.getByTestId("call-result").textContent())!), "egap eht morf");
    await page.getByTestId("call-trace").click();
    await page.waitForURL(/\/traces\/[0-9a-f]{32}$/);
    await page.getByTestId("waterfall").waitFor();
    t.same(
      (await waterfallRows(page)).map((r) => [r.name, r.depth, r.outcome]),
      [
        ["front.relay", 0, "ok"],
        ["back.reverse", 1, "ok"],
      ],
      "the call from the page and the call it made",
    );
    t.match(await page.getByTestId("span-row").first().textContent(), /parent elsewhere/, "its parent is the page's own span");
    await browser.shot(page, "trace-from-method-runner");
    t.same(errors, [], "no console errors");
  });

  t.test("an unknown trace id says the trace is not kept, and links back", async (t) => {
    const { context, page } = await browser.page(base);
    t.teardown(() => context.close());
    await signInWithToken(page, d.rootToken());
    await page.goto("/traces/0af7651916cd43dd8448eb211c80319c");
    await page.getByTestId("trace-not-found").waitFor();
    t.match(await page.getByTestId("trace-not-found").textContent(), /most recent traces/);
    // A malformed id: the daemon's own message says what an id looks like.
    await page.goto("/traces/not-a-trace-id");
    t.match(await page.getByRole("alert").textContent(), /32 hex digits/);
    await page.goto("/traces/0af7651916cd43dd8448eb211c80319c");
    await page.getByRole("link", { name: "See the recent traces" }).click();
    await page.waitForURL(/\/traces$/);
    await page.getByTestId("traces-table").waitFor();
    t.pass("back on the list");
  });

  t.test("no sideways scrolling on a 1280x720 screen", async (t) => {
    const { context, page, errors } = await browser.page(base);
    t.teardown(() => context.close());
    await page.setViewportSize({ width: 1280, height: 720 });
    await signInWithToken(page, d.rootToken());
    const trace = (await asRoot("GET", "/api/traces?limit=1")).json.traces[0];
    for (const path of ["/traces", `/traces/${trace.traceId}`]) {
      await page.goto(path);
      await page.locator("main [data-testid=traces-table], main [data-testid=waterfall]").first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.ok(overflow <= 0, `${path}: no horizontal scrolling at 1280 px (${overflow} px over)`);
    }
    t.same(errors, [], "no console errors");
  });
});

t.test("a daemon with tracing off: the Traces page says how to turn it on", { timeout: 120_000 }, async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() }, { telemetry: { tracing: { enabled: false } } });
  const browser = await launchBrowser();
  t.teardown(async () => {
    await browser.close();
    await d.stop();
  });
  const { context, page } = await browser.page(d.httpUrl!);
  t.teardown(() => context.close());
  await signInWithToken(page, d.rootToken());
  await page.goto("/traces");
  t.match(await page.getByRole("alert").textContent(), /tracing is off on this daemon: set telemetry\.tracing\.enabled to true/, "the daemon's message, not an empty list");
  t.equal(await page.getByTestId("traces-empty").count(), 0, 'no "no traces yet": there never will be');
});
