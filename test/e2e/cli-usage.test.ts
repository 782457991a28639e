/**
 * "Did you mean" for plugin/plugins mix-ups, and `bkg daemon install` (issue 11.4).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { DAEMON_NODE_FLAGS } from "../../src/cli/daemon-node-flags.js";
import { BIN } from "../helpers/daemon.js";

t.test("did you mean: plugin/plugins mix-ups exit 2 with the command meant", async (t) => {
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  for (const [args, meant] of [
    [["plugin", "list"], "bkg plugins list"],
    [["plugin", "restart", "echo"], "bkg plugins restart"],
    [["plugins", "new", "x"], "bkg plugin new"],
    [["-c", "x.json", "plugin", "logs"], "bkg plugins logs"],
    [["log", "echo"], "bkg logs echo"],
  ] as const) {
    const r = run([...args]);
    t.equal(r.status, 2, args.join(" "));
    t.equal(r.stderr, `bkg: unknown command "${args.join(" ")}". Did you mean \`${meant}\`?\n`);
  }
  const typo = run(["statsu"]);
  t.equal(typo.status, 2, "other unknown commands are usage errors too");
  t.match(typo.stderr, /Did you mean status\?/);
});

t.test("daemon install writes a systemd user unit for this config; uninstall removes it", async (t) => {
  const home = mkdtempSync(join(tmpdir(), "bkg-home-"));
  const work = mkdtempSync(join(tmpdir(), "bkg-work-"));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(join(work, "bkg.config.json"), "{}");
  const env = { ...process.env, XDG_CONFIG_HOME: join(home, "cfg") };
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: work, env });
  const r = run(["daemon", "install"]);
  t.equal(r.status, 0, r.stderr);
  const unit = join(home, "cfg", "systemd", "user", "bkg.service");
  t.match(r.stdout, `wrote ${unit}`);
  t.match(r.stdout, /systemctl --user enable --now bkg/);
  const text = readFileSync(unit, "utf8");
  t.match(text, `ExecStart="${process.execPath}" ${DAEMON_NODE_FLAGS.map((f) => `"${f}"`).join(" ")} "${BIN}" "--config" "${join(work, "bkg.config.json")}" "daemon" "start"`);
  t.match(text, `WorkingDirectory="${work}"`);
  t.match(text, /\[Install\]\nWantedBy=default\.target/);
  t.equal(
    run(["daemon", "install"]).stdout.trim(),
    `already installed: ${unit}\nstart it now and at every login with:\n  systemctl --user daemon-reload && systemctl --user enable --now bkg\n(at boot without a login: loginctl enable-linger $USER)`,
  );
  writeFileSync(unit, "edited by hand\n");
  const clash = run(["daemon", "install"]);
  t.equal(clash.status, 1, "an edited unit is not overwritten silently");
  t.match(clash.stderr, /exists with other content; pass --force/);
  t.equal(run(["daemon", "install", "--force"]).status, 0);
  t.equal(run(["daemon", "install", "--name", "../evil"]).status, 2);
  t.equal(run(["daemon", "install", "--print"]).stdout, text, "--print shows the same unit");
  const un = run(["daemon", "uninstall"]);
  t.match(un.stdout, `removed ${unit}`);
  t.match(run(["daemon", "uninstall"]).stdout, /nothing to remove/);
});
