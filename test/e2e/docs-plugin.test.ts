/**
 * Issue 11.6: docs/protocol.md §9's plugin (Python, standard library only) and the manifest
 * docs/writing-plugins.md puts beside it, exactly as the pages show them: the conformance
 * suite's protocol-only mode passes it, and a daemon serves its method.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ROOT, startTestDaemon } from "../helpers/daemon.js";
import { fencedBlocks } from "../helpers/doc-examples.js";

const protocolPage = readFileSync(join(ROOT, "docs", "protocol.md"), "utf8");
const section9 = protocolPage.slice(protocolPage.indexOf("## 9. A plugin with no SDK"));
const plugin = `${fencedBlocks(section9, "python")[0].lines.join("\n")}\n`;
const guide = readFileSync(join(ROOT, "docs", "writing-plugins.md"), "utf8");
const manifest = JSON.parse(fencedBlocks(guide.slice(guide.indexOf("## Any language")), "json")[0].lines.join("\n")) as Record<string, unknown>;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out }));
  });
}

t.test("protocol.md §9's plugin passes the protocol-only conformance check as writing-plugins.md says", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-docs-plugin-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "hello.py"), plugin);
  const r = await run(process.execPath, [join(ROOT, "plugin-sdk", "conformance", "dist", "cli.js"), "--protocol-only", "--name", "hello", "--cwd", dir, "--", "python3", "hello.py"], ROOT);
  t.equal(r.code, 0, "the check exits 0", { output: r.out });
  t.match(r.out, /conformance: 9 passed, 0 failed, 1 skipped/, "the summary the guide shows");
});

t.test("the daemon serves it with the guide's manifest", async (t) => {
  const pluginDir = join(mkdtempSync(join(tmpdir(), "bkg-docs-plugin-")), "hello");
  mkdirSync(pluginDir);
  t.teardown(() => rmSync(join(pluginDir, ".."), { recursive: true, force: true }));
  writeFileSync(join(pluginDir, "hello.py"), plugin);
  const d = await startTestDaemon({ hello: { ...manifest, cwd: pluginDir } });
  t.teardown(() => d.stop());
  await d.waitState("hello", "ready");
  t.equal(await d.client.call("hello.greet", { who: "you" }), "hello, you", "hello.greet answers as the guide says");
});
