/** Each SDK's own test suite, and RepoAgent's (a Python plugin), in its own language's runner, as part of npm test. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import t from "tap";
import { ROOT } from "../helpers/daemon.js";

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, CARGO_TERM_COLOR: "never" } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", (e) => resolve({ code: -1, out: `${cmd} could not start: ${e.message}` }));
    p.on("close", (code) => resolve({ code, out }));
  });
}

// cargo builds the SDK and its tests from scratch on a clean clone: minutes on a busy 2-core machine.
t.setTimeout(20 * 60_000);

const suites = [
  { name: "python SDK (pytest)", cmd: "python3", args: ["-m", "pytest", "-q", "-p", "no:cacheprovider"], dir: "plugin-sdk/python" },
  { name: "repoagent plugin (pytest)", cmd: "python3", args: ["-m", "pytest", "-q", "-p", "no:cacheprovider"], dir: "plugins/repoagent" },
  { name: "rust SDK (cargo test)", cmd: "cargo", args: ["test", "--quiet"], dir: "plugin-sdk/rust" },
];

for (const s of suites) {
  t.test(s.name, { timeout: 600_000 }, async (t) => {
    const r = await run(s.cmd, s.args, join(ROOT, s.dir));
    t.equal(r.code, 0, `${s.name} exited ${r.code}`, { output: r.out.slice(-6000) });
    t.notMatch(r.out, /\b[1-9]\d* failed\b/, "no failures reported");
  });
}
