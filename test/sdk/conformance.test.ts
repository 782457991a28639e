/**
 * Every SDK's conformance plugin through the language-neutral suite (plugin-sdk/conformance),
 * and real plugins that do not implement the contract (apikeys) through its protocol-only mode.
 * Each case is its own assertion, so a failure names the SDK and the case.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import t from "tap";
import { runConformance, type ConformanceMode } from "@bkg/conformance";
import { ROOT } from "../helpers/daemon.js";

const targets: { sdk: string; command: string[]; cwd?: string; mode?: ConformanceMode; pluginName?: string; prepare?: () => string | undefined }[] = [
  { sdk: "typescript", command: [process.execPath, join(ROOT, "plugin-sdk/typescript/test/conformance-plugin.mjs")] },
  { sdk: "raw node (no SDK)", command: [process.execPath, join(ROOT, "plugin-sdk/conformance/fixtures/raw-node-plugin.mjs")] },
  { sdk: "python", command: ["python3", join(ROOT, "plugin-sdk/python/examples/conformance_plugin.py")] },
  {
    sdk: "rust",
    command: [join(ROOT, "plugin-sdk/rust/target/release/conformance")],
    prepare: () => {
      const r = spawnSync("cargo", ["build", "--release", "--quiet", "--bin", "conformance"], { cwd: join(ROOT, "plugin-sdk/rust"), encoding: "utf8" });
      return r.status === 0 ? undefined : `cargo build failed (${r.status}): ${r.stderr || r.error?.message}`;
    },
  },
  // The plain-Node case: a real plugin with its own methods, checked against the protocol only.
  { sdk: "apikeys plugin (plain Node, protocol only)", command: [process.execPath, "index.mjs"], cwd: join(ROOT, "plugins/apikeys"), mode: "protocol", pluginName: "apikeys" },
];

// The Rust case builds its plugin in release mode first: minutes on a cold 2-core machine.
t.setTimeout(10 * 60_000);

for (const target of targets) {
  t.test(`conformance: ${target.sdk}`, async (t) => {
    const problem = target.prepare?.();
    if (problem) return t.fail(problem);
    const report = await runConformance({ command: target.command, cwd: target.cwd ?? ROOT, mode: target.mode, pluginName: target.pluginName });
    for (const c of report.cases) t.ok(c.ok, `${c.name}${c.skipped ? ` (skipped: ${c.reason})` : c.ok ? "" : `: ${c.reason}`}`);
    t.equal(report.failed, 0, `${target.sdk}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
    if (target.mode === "protocol") {
      t.equal(report.passed, 9, "every protocol case ran");
      t.same(
        report.cases.filter((c) => c.skipped).map((c) => c.name),
        ["concurrency"],
        "only concurrency is skipped",
      );
    } else {
      t.ok(report.passed >= 60, "the suite ran its cases");
      t.equal(report.skipped, 0, "nothing skipped");
    }
  });
}
