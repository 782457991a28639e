/** Issue 11: `bkg` finds its config from any subfolder, the way git finds its repository. */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { BIN, echoManifest, startTestDaemon } from "../helpers/daemon.js";

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.BKG_CONFIG;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

t.test("the CLI run from a plugin's subfolder, with no --config, finds the project's bkg.config.json", async (t) => {
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const deep = join(d.dir, "plugins", "hello", "src");
  mkdirSync(deep, { recursive: true });
  const status = await run(["status", "--json"], deep);
  t.equal(status.code, 0, status.stderr);
  t.equal(JSON.parse(status.stdout).socketPath, d.socketPath, "it talks to the project's daemon");
  const call = await run(["call", "echo.reverse", '{"text":"abc"}'], deep);
  t.equal(call.code, 0, call.stderr);
  t.equal(call.stdout.trim(), "cba");
});
