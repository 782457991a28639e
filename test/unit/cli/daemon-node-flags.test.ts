/**
 * The daemon's node flags: the user's own win, and every place that starts the daemon gives the
 * same ones (bin/bkg's sh lines, the systemd unit in deploy/, the container image).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { DAEMON_NODE_FLAGS, daemonNodeFlags } from "../../../src/cli/daemon-node-flags.js";
import { userUnit } from "../../../src/cli/systemd-unit.js";
import { ROOT } from "../../helpers/daemon.js";

t.test("the flags, less those the user set", async (t) => {
  t.same(daemonNodeFlags([], ""), DAEMON_NODE_FLAGS, "none set: all of them");
  t.ok(DAEMON_NODE_FLAGS.includes("--max-semi-space-size=32"));
  t.ok(DAEMON_NODE_FLAGS.includes("--v8-pool-size=1"));
  t.same(daemonNodeFlags(["--max_semi_space_size=8", "--inspect"], ""), ["--max_semi_space_size=8", "--v8-pool-size=1"], "node's own flag (either spelling) goes on to the daemon");
  t.same(daemonNodeFlags([], "--max-old-space-size=512 --max-semi-space-size=8"), ["--v8-pool-size=1"], "NODE_OPTIONS sets one: the daemon inherits NODE_OPTIONS, a flag of ours would override it");
  t.same(daemonNodeFlags(["--v8-pool-size=4"], "--max_semi_space_size=8"), ["--v8-pool-size=4"], "each flag on its own");
  t.same(daemonNodeFlags([], "  --trace-warnings  "), DAEMON_NODE_FLAGS, "other NODE_OPTIONS leave them");
});

t.test("every launcher gives the same flags", async (t) => {
  const bin = readFileSync(join(ROOT, "bin", "bkg"), "utf8");
  t.match(bin, /^#!\/bin\/sh\n/, "bin/bkg starts as sh");
  const sh = bin.split("\n").filter((l) => l.startsWith('":" //;'));
  t.ok(sh.at(-1)?.includes('exec node $f "$0" "$@"'), "bin/bkg's sh lines exec node with the flags they gather");
  for (const flag of DAEMON_NODE_FLAGS) t.equal(sh.filter((l) => l.includes(flag)).length, 1, `bin/bkg's sh lines add ${flag}`);
  t.equal(sh.join("\n").match(/--[a-z0-9-]+=/g)?.length, DAEMON_NODE_FLAGS.length, "and no flag besides");
  t.ok(readFileSync(join(ROOT, "deploy", "bkg.service"), "utf8").includes(`ExecStart=/usr/bin/node ${DAEMON_NODE_FLAGS.join(" ")} /opt/bkg/bin/bkg daemon start`), "deploy/bkg.service");
  t.ok(
    readFileSync(join(ROOT, "deploy", "Dockerfile"), "utf8").includes(`CMD ["node", ${DAEMON_NODE_FLAGS.map((f) => JSON.stringify(f)).join(", ")}, "bin/bkg", "daemon", "start"]`),
    "deploy/Dockerfile",
  );
  const unit = userUnit({ node: "/n", nodeFlags: daemonNodeFlags([], ""), bin: "/b/bkg", workingDirectory: "/w", name: "bkg" });
  t.match(unit, `ExecStart="/n" ${DAEMON_NODE_FLAGS.map((f) => `"${f}"`).join(" ")} "/b/bkg" "daemon" "start"`, "bkg daemon install's user unit");
});
