/**
 * `bkg logs` interleaves every plugin by time; `bkg plugins logs NAME` shows one (issue 11.4).
 */
import t from "tap";
import { echoManifest, startTestDaemon } from "../helpers/daemon.js";

t.test("bkg logs interleaves every plugin by time; plugins logs shows one without repeating its name", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest(), other: echoManifest("other") });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  await d.waitState("other", "ready");
  await d.client.plugins.restart("other", { wait: true });
  await d.client.plugins.restart("echo", { wait: true });

  const all = await d.cli(["logs", "-n", "500"]);
  t.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split("\n");
  t.ok(lines.some((l) => / echo#\d /.test(l)) && lines.some((l) => / other#\d /.test(l)), "both plugins' lines, labelled");
  const times = lines.map((l) => l.slice(0, 12));
  t.same(times, [...times].sort(), "in time order");
  const lastOther = lines.map((l) => / other#\d /.test(l)).lastIndexOf(true);
  const lastEcho = lines.map((l) => / echo#\d /.test(l)).lastIndexOf(true);
  t.ok(lastOther < lastEcho, "other was restarted first, so its last line comes before echo's");

  const one = await d.cli(["logs", "echo", "-n", "5"]);
  t.equal(one.stdout.trim().split("\n").length, 5, "-n caps the lines");
  const own = await d.cli(["plugins", "logs", "echo"]);
  t.notMatch(own.stdout, / echo#\d /, "one plugin's lines name the instance (#2), not the plugin again");
  t.match(own.stdout, /^\d\d:\d\d:\d\d\.\d{3} (INFO|WARN|DEBUG|ERROR) +#\d /m);
});
