import t from "tap";
import { type BkgError, ErrorCodes } from "@bkg/protocol";
import { echoManifest, rogueManifest, startTestDaemon } from "../helpers/daemon.js";

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return (e as BkgError).code;
  }
};

t.test("routed calls over the socket", async (t) => {
  const d = await startTestDaemon({
    echo: echoManifest(),
    denied: echoManifest("denied", { permissions: [] }),
    narrow: echoManifest("narrow", { permissions: ["echo.reverse"] }),
    slow: rogueManifest("slow", "slow-start", { env: { SLOW_START_MS: "700" } }),
    tight: echoManifest("tight", { concurrency: 1, queue: 1 }),
  });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const c = d.client;

  t.test("a call reaches the plugin and the result comes back", async (t) => {
    t.equal(await c.call("echo.reverse", { text: "abc" }), "cba");
    t.same(await c.call("echo.echo", { a: [1, { b: "ü🎉" }] }), { a: [1, { b: "ü🎉" }] }, "nested params and unicode survive; _meta is stripped");
  });

  t.test("-32601 names what exists", async (t) => {
    const e1 = await c.call("nosuch.thing").catch((e) => e);
    t.equal(e1.code, ErrorCodes.MethodNotFound);
    t.match(e1.message, /no plugin named "nosuch".*echo/);
    const e2 = await c.call("echo.nope").catch((e) => e);
    t.equal(e2.code, ErrorCodes.MethodNotFound);
    t.match(e2.message, /no method "nope".*reverse/);
    const e3 = await c.call("noplugin").catch((e) => e);
    t.equal(e3.code, ErrorCodes.MethodNotFound);
  });

  t.test("-32602 carries the schema errors", async (t) => {
    const e = await c.call("echo.reverse", { text: 5 }).catch((e) => e);
    t.equal(e.code, ErrorCodes.InvalidParams);
    t.match(e.data, { errors: [{ path: "/text", message: /string/ }] });
    const e2 = await c.call("echo.reverse", {}).catch((e) => e);
    t.match(e2.data.errors[0].message, /missing required property "text"/);
  });

  t.test("a plugin's own error passes through with its code and data", async (t) => {
    const e = await c.call("echo.fail").catch((e) => e);
    t.equal(e.code, ErrorCodes.PluginError);
    t.equal(e.message, "echo was asked to fail");
    const e2 = await c.call("echo.fail", { code: 4242, message: "custom", data: { why: 1 } }).catch((e) => e);
    t.match(e2, { code: 4242, message: "custom", data: { why: 1 } });
    const e3 = await c.call("echo.fail", { code: ErrorCodes.InternalError, message: "internal in plugin" }).catch((e) => e);
    t.equal(e3.code, ErrorCodes.InternalError);
  });

  t.test("deadline: -33001, and the plugin observes the cancellation", async (t) => {
    const started = Date.now();
    const e = await c.call("echo.sleep", { ms: 5000 }, { timeoutMs: 1000 }).catch((e) => e);
    t.equal(e.code, ErrorCodes.DeadlineExceeded);
    t.ok(Date.now() - started < 4500, "the caller is answered at the deadline, not when the plugin finishes (at 5 s)");
    await d.waitFor(() => d.events.some((ev) => ev.kind === "plugin" && ev.event === "echo.sleep.cancelled" && (ev.data as { ms: number }).ms === 5000), "the plugin to report the cancellation");
  });

  t.test("caller cancellation: -32800, and the plugin observes it", async (t) => {
    const ac = new AbortController();
    const p = c.call("echo.sleep", { ms: 4000 }, { signal: ac.signal });
    // Cancel once the call has reached the plugin (a cancel that overtakes it never gets there, rightly).
    await d.waitInFlight("echo");
    ac.abort();
    t.equal(await codeOf(p), ErrorCodes.RequestCancelled);
    await d.waitFor(() => d.events.some((ev) => ev.kind === "plugin" && ev.event === "echo.sleep.cancelled" && (ev.data as { ms: number }).ms === 4000), "the plugin to report the cancellation");
  });

  t.test("streaming delivers $/progress in order, then the result", async (t) => {
    const seen: number[] = [];
    const result = await c.call("echo.stream", { n: 300 }, { onProgress: (v) => seen.push((v as { i: number }).i) });
    t.same(result, { count: 300 });
    t.same(
      seen,
      Array.from({ length: 300 }, (_, i) => i),
    );
    const plain = await c.call("echo.stream", { n: 3 });
    t.same(plain, { count: 3 }, "without a progress token the result still arrives");
  });

  t.test("plugin-to-plugin calls: allowed by permissions, denied otherwise", async (t) => {
    t.equal(await c.call("echo.relay", { method: "echo.reverse", params: { text: "hi" } }), "ih");
    t.equal(await c.call("narrow.relay", { method: "echo.reverse", params: { text: "ok" } }), "ko", "an exact pattern allows that method");
    const e = await c.call("narrow.relay", { method: "echo.echo", params: {} }).catch((e) => e);
    t.equal(e.code, ErrorCodes.PermissionDenied);
    const e2 = await c.call("denied.relay", { method: "echo.reverse", params: { text: "hi" } }).catch((e) => e);
    t.equal(e2.code, ErrorCodes.PermissionDenied);
    t.match(e2.message, /denied may not call echo\.reverse/);
    const e3 = await c.call("echo.relay", { method: "echo.reverse", params: { text: 1 } }).catch((e) => e);
    t.equal(e3.code, ErrorCodes.InvalidParams, "the target's errors pass through unchanged");
  });

  t.test("a call to a plugin that is still starting waits for it", async (t) => {
    await d.client.plugins.stop("slow");
    await d.client.plugins.start("slow");
    const t0 = Date.now();
    t.match(await c.call("slow.ok", {}, { timeoutMs: 5000 }), { ok: true });
    t.ok(Date.now() - t0 >= 400, "it waited for the handshake");
  });

  t.test("-33000 for a stopped plugin, with the way out", async (t) => {
    await d.client.plugins.stop("slow");
    const e = await c.call("slow.ok").catch((e) => e);
    t.equal(e.code, ErrorCodes.PluginUnavailable);
    t.match(e.message, /slow is stopped.*bkg plugins start slow/);
    await d.client.plugins.start("slow");
  });

  t.test("-33002 when the instance is busy and the queue is full", async (t) => {
    const a = c.call("tight.sleep", { ms: 600 });
    const b = c.call("tight.sleep", { ms: 10 });
    await new Promise((r) => setTimeout(r, 50));
    const e = await c.call("tight.sleep", { ms: 10 }).catch((e) => e);
    t.equal(e.code, ErrorCodes.Overloaded);
    t.same(await a, { slept: 600 });
    t.same(await b, { slept: 10 }, "the queued call ran once a slot was free");
  });

  t.test("-33004 when the plugin dies mid-call; it restarts and serves again", async (t) => {
    const { pid } = (await c.call("echo.pid")) as { pid: number };
    const e = await c.call("echo.crash", { code: 7 }).catch((e) => e);
    t.equal(e.code, ErrorCodes.PluginCrashed);
    t.match(e.message, /exited with code 7/);
    t.equal(await c.call("echo.reverse", { text: "back" }, { timeoutMs: 5000 }), "kcab", "the next call waits for the restart");
    const { pid: pid2 } = (await c.call("echo.pid")) as { pid: number };
    t.not(pid2, pid);
    const info = await c.plugins.info("echo");
    t.equal(info.restarts, 1);
    t.match(info.lastExit, { code: 7, reason: /exited with code 7/ });
  });

  t.test("concurrent calls are served concurrently", async (t) => {
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => c.call("echo.sleep", { ms: 300 })));
    t.ok(Date.now() - t0 < 5000, `20 x 300 ms (6 s one at a time) took ${Date.now() - t0} ms`);
  });
});
