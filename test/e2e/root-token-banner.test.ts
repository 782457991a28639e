/**
 * Issue 11.5: the root token's one-time banner on a terminal names the port the daemon really
 * listens on, also when the config asks for port 0 (it printed ":0" once).
 * `script` (util-linux) gives the daemon a pseudo-terminal, as an operator's shell would.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { BIN } from "../helpers/daemon.js";

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

t.test("on a terminal, the root token banner's curl example names the bound port when http.port is 0", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-banner-"));
  mkdirSync(join(dir, "manifests"));
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
});
