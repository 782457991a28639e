import t from "tap";
import { rogueManifest, startTestDaemon } from "../helpers/daemon.js";

t.test("the handshake", async (t) => {
  const d = await startTestDaemon({
    good: rogueManifest("good", "ok", { provides: ["ok"] }),
    newer: rogueManifest("newer", "bad-version"),
    refuses: rogueManifest("refuses", "refuse-version"),
    partial: rogueManifest("partial", "missing-method", { provides: ["ok", "garble"] }),
    mute: rogueManifest("mute", "no-answer", { timeouts: { start: 300 }, restart: { maxRestarts: 1, windowMs: 60000, backoff: { initialMs: 10 } } }),
    pinned: rogueManifest("pinned", "ok", { protocol: "~1.1.0" }),
    missing: { ...rogueManifest("missing", "ok"), command: ["/nonexistent/bkg-plugin-binary"], restart: { maxRestarts: 1, windowMs: 60000, backoff: { initialMs: 10 } } },
    nocmd: { ...rogueManifest("nocmd", "ok"), command: ["definitely-not-a-command-bkg"] },
    nocwd: { ...rogueManifest("nocwd", "ok"), cwd: "../plugins/helo" },
  });
  t.teardown(() => d.stop());
  const c = d.client;

  await d.waitState("good", "ready");
  t.match(await c.call("good.ok"), { ok: true }, "a correct plugin is ready and serves");

  await d.waitState("newer", "failed");
  const newer = await c.plugins.info("newer");
  t.match(newer.reason, /protocol mismatch: plugin speaks 2\.0\.0, the daemon speaks 1\.0\.0/);
  t.equal(newer.restarts, 0, "a protocol mismatch is not retried");
  const e = await c.call("newer.ok").catch((e) => e);
  t.equal(e.code, -33000);
  t.match(e.message, /newer is failed: .*protocol mismatch/);

  await d.waitState("refuses", "failed");
  t.match((await c.plugins.info("refuses")).reason, /rogue speaks protocol 9\.0\.0 only/, "the plugin's own -33006 message is kept");

  await d.waitState("partial", "failed");
  t.match((await c.plugins.info("partial")).reason, /the manifest provides garble, but the plugin announced only: ok/);

  await d.waitState("pinned", "failed");
  t.match((await c.plugins.info("pinned")).reason, /manifest requires ~1\.1\.0/, "the manifest's protocol range is enforced");

  await d.waitState("mute", "crashloop", 15_000);
  const mute = await c.plugins.info("mute");
  t.match(mute.reason, /exits within/);
  t.match(mute.lastExit?.reason, /initialize handshake got no answer within 300 ms/);

  // Issue 11: checked before spawning, failed once with the manifest and field named (was a crash loop on "spawn ... ENOENT").
  await d.waitState("missing", "failed", 15_000);
  const missing = await c.plugins.info("missing");
  t.match(
    missing.reason,
    /command "\/nonexistent\/bkg-plugin-binary" is not an executable file \(.*missing\.json, field \/command\/0/,
    "a command that does not exist says so, naming the manifest and field",
  );
  t.ok(missing.restarts <= 1, `tried once, not restarted in a loop (restarts: ${missing.restarts})`);
  await d.waitState("nocmd", "failed", 15_000);
  t.match((await c.plugins.info("nocmd")).reason, /command "definitely-not-a-command-bkg" was not found on the plugin's PATH \(.*nocmd\.json, field \/command\/0\)/, "a command looked up on the PATH");
  await d.waitState("nocwd", "failed", 15_000);
  t.match((await c.plugins.info("nocwd")).reason, /^cwd \.\.\/plugins\/helo does not exist \(.*nocwd\.json, field \/cwd/, "a cwd that does not exist, as written relative to the manifest");
  t.match(await c.call("good.ok"), { ok: true }, "and the daemon serves on");
});
