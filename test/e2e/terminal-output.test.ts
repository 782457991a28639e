/**
 * Issue 11.5, what an operator sees when the daemon runs in a terminal: the root token's one-time
 * banner names the port the daemon really listens on, also when the config asks for port 0 (it
 * printed ":0" once); the log is one line per entry and does not repeat the plugin's name.
 * `script` (util-linux) gives the daemon a pseudo-terminal, as an operator's shell would.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { BIN, echoManifest } from "../helpers/daemon.js";

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// biome-ignore lint/suspicious/noControlCharactersInRegex: it matches the terminal's ANSI colour codes
const ANSI = /\x1b\[[0-9;]*m/g;
const ENTRY = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|DEBUG)\b/;

function cli(config: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => spawn(process.execPath, [BIN, "--config", config, ...args], { stdio: "ignore" }).on("close", resolve));
}

t.test("in a terminal: the root token banner names the bound port; the log is one line per entry without repeated plugin names", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-terminal-"));
  mkdirSync(join(dir, "manifests"));
  writeFileSync(join(dir, "manifests", "echo.json"), JSON.stringify(echoManifest()));
  const config = join(dir, "bkg.config.json");
  writeFileSync(config, JSON.stringify({ manifestsDir: "manifests", dataDir: "data", socketPath: "bkg.sock", http: { port: 0 } }));
  const command = [process.execPath, BIN, "--config", config, "daemon", "start"].map(shellQuote).join(" ");
  const proc = spawn("script", ["-qfec", command, "/dev/null"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"], detached: true });
  t.teardown(() => {
    try {
      process.kill(-proc.pid!, "SIGTERM");
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });
  let out = "";
  const example = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 60 s; the terminal showed:\n${out}`)), 60_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /curl -H "Authorization: Bearer \$\(cat [^)]+root\.token\)" http:\/\/127\.0\.0\.1:(\d+)\/api\/plugins/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    proc.on("exit", () => reject(new Error(`the daemon exited; the terminal showed:\n${out}`)));
  });
  t.match(out, /the root token \(an admin credential\), shown this once/, "the banner is shown on a terminal");
  const port = Number(example[1]);
  t.not(port, 0, `the example names a real port (${port}), not :0`);
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  t.equal(health.status, 200, "and the daemon answers on it");

  // A plugin's own log line (echo.sleep logs when its deadline stops it), then a clean stop.
  await cli(config, ["call", "echo.sleep", '{"ms":5000}', "--timeout", "200"]);
  await cli(config, ["daemon", "stop"]);
  await new Promise((resolve) => (proc.exitCode === null ? proc.on("exit", resolve) : resolve(null)));
  const lines = out
    .replace(ANSI, "")
    .split(/\r?\n/)
    .filter((l) => l.trim());
  const log = lines.slice(lines.findIndex((l) => ENTRY.test(l)));
  const banner = /shown this once|^\s+\S+$|e\.g\. curl/;
  const strays = log.filter((l) => !ENTRY.test(l) && !banner.test(l));
  t.same(strays, [], "every log line starts an entry: nothing spills onto a second line");
  t.ok(
    log.some((l) => /echo#1 ready: pid \d+$/.test(l)),
    "the supervisor's lines name the instance once, in the message",
  );
  t.match(log.join("\n"), /INFO: echo#1: sleep observed cancellation \{"reason":"[^"]+","ms":5000\}$/m, "a plugin's own line has its instance in front and its fields after");
  t.same(
    log.filter((l) => /"plugin":|"instance":/.test(l)),
    [],
    "no line repeats the plugin's name as a field",
  );
});
