/**
 * Issue 11.6: the README's and docs/http.md's shell examples, run as written against the default
 * daemon (echo and apikeys from the repository's manifests/), in one shell per page so variables
 * carry over as they do for a reader. `bkg` is this checkout's bin/bkg on the PATH (what
 * `npm link` gives). What a page says a command prints is checked (test/helpers/doc-examples.ts).
 *
 * Not run, each for its reason (printed as a comment in the output):
 * - `npm ...` lines: this test runs inside `npm test` on an installed checkout (the daemon
 *   start they chain into is run instead);
 * - `bkg models pull` and `/v1` calls: they need a 98 MB model; test/e2e/models.test.ts and
 *   test/e2e/openai.test.ts drive the same commands and routes with the real model.
 * Commands that run until stopped (`-f`, `bkg top`, `bkg dev`) run for a few seconds and pass
 * when they were still running or ended well.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { ROOT } from "../helpers/daemon.js";
import { fencedBlocks, shellCommands, stableFields, type DocCommand } from "../helpers/doc-examples.js";

t.setTimeout(10 * 60_000);

const NOT_RUN: Array<[RegExp, string]> = [
  [/^npm /, "npm install/test: this test runs inside npm test on an installed checkout"],
  [/^bkg models pull\b/, "downloads a 98 MB model; test/e2e/models.test.ts pulls through the same code from a loopback server"],
  [/\/v1\//, "needs the pulled model; test/e2e/openai.test.ts drives /v1 with the real model"],
];
const UNTIL_STOPPED = /(\s-f\b|^bkg top\b|^bkg dev\b)/;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A folder laid out like the checkout (its plugins, echo and apikeys manifests, config on `port`), but its own. */
function scratchProject(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), "bkg-docs-"));
  mkdirSync(join(dir, "manifests"));
  mkdirSync(join(dir, "plugins"));
  for (const name of ["echo.json", "apikeys.json"]) copyFileSync(join(ROOT, "manifests", name), join(dir, "manifests", name));
  for (const name of readdirSync(join(ROOT, "plugins"))) symlinkSync(join(ROOT, "plugins", name), join(dir, "plugins", name));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const config = readFileSync(join(ROOT, "bkg.config.json"), "utf8")
    .replace(/"\.\/schemas\//, `"${ROOT}/schemas/`)
    .replace(/43119/g, String(port));
  writeFileSync(join(dir, "bkg.config.json"), config);
  return dir;
}

/** One bash for a whole page, so `export` and `read` carry over; each command's output goes to files. */
class PageShell {
  private readonly bash: ChildProcessWithoutNullStreams;
  private buffered = "";
  private n = 0;
  constructor(readonly dir: string) {
    const env = { ...process.env, PATH: `${join(ROOT, "bin")}:${process.env.PATH}` };
    delete env.BKG_CONFIG;
    this.bash = spawn("bash", ["--norc", "--noprofile"], { cwd: dir, env });
    this.bash.stdout.on("data", (d) => (this.buffered += d));
    mkdirSync(join(dir, ".out"));
  }
  async run(shell: string, timeoutS = 60): Promise<{ code: number; stdout: string; stderr: string }> {
    const n = ++this.n;
    const out = join(this.dir, ".out", String(n));
    this.bash.stdin.write(`{ ${shell}\n} > ${out}.stdout 2> ${out}.stderr < /dev/null; echo "@@done ${n} $?"\n`);
    const done = new RegExp(`@@done ${n} (\\d+)`);
    const deadline = Date.now() + (timeoutS + 30) * 1000;
    while (!done.test(this.buffered)) {
      if (Date.now() > deadline) throw new Error(`no end of: ${shell}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = Number(done.exec(this.buffered)![1]);
    return { code, stdout: readFileSync(`${out}.stdout`, "utf8"), stderr: readFileSync(`${out}.stderr`, "utf8") };
  }
  close(): void {
    this.bash.stdin.end();
  }
}

const withoutComment = (shell: string) => shell.replace(/\s{2,}#\s.*$/, "");

async function runCommand(t: Test, sh: PageShell, page: string, cmd: DocCommand): Promise<void> {
  const where = `${page}:${cmd.line}: ${withoutComment(cmd.shell).slice(0, 110)}`;
  let shell = withoutComment(cmd.shell);
  const notRun = NOT_RUN.find(([re]) => re.test(shell));
  if (notRun) {
    if (/bkg daemon start/.test(shell)) {
      const r = await sh.run("bkg daemon start --detach");
      t.equal(r.code, 0, `${where} (its daemon start, detached)`, { stderr: r.stderr });
    } else t.comment(`not run: ${where} (${notRun[1]})`);
    return;
  }
  if (/^bkg daemon start$/.test(shell)) shell += " --detach";
  if (UNTIL_STOPPED.test(shell)) {
    const r = await sh.run(`timeout -s INT 3 ${shell}; rc=$?; [ $rc -eq 124 ] || [ $rc -eq 0 ]`);
    t.equal(r.code, 0, `${where} (runs until stopped)`, { stdout: r.stdout.slice(-2000), stderr: r.stderr.slice(-2000) });
    return;
  }
  const r = await sh.run(shell);
  const e = cmd.expect;
  if (e?.kind === "error") {
    t.not(r.code, 0, `${where} fails, as the page says`);
    t.match(r.stderr + r.stdout, e.text, `${where} says ${e.text}`);
    return;
  }
  t.equal(r.code, 0, where, { stdout: r.stdout.slice(-2000), stderr: r.stderr.slice(-2000) });
  if (e?.kind === "exact") t.equal(r.stdout.trim(), e.text, `${where} prints ${e.text}`);
  if (e?.kind === "folded") t.equal(r.stdout.replace(/\s+/g, " ").trim(), e.text, `${where} prints ${e.text}`);
  if (e?.kind === "fields") {
    const missing = stableFields(e.text).filter((f) => !r.stdout.includes(f));
    t.same(missing, [], `${where}: what the page shows is in the output`, { stdout: r.stdout.slice(0, 2000) });
  }
}

async function runPage(t: Test, page: string, before?: (cmd: DocCommand, sh: PageShell) => Promise<void>): Promise<void> {
  const port = await freePort();
  const dir = scratchProject(port);
  const sh = new PageShell(dir);
  t.teardown(async () => {
    // Its own process, not the page's shell: that shell may be gone (a failed example).
    await new Promise((resolve) => spawn(process.execPath, [join(ROOT, "bin", "bkg"), "--config", join(dir, "bkg.config.json"), "daemon", "stop"], { stdio: "ignore" }).on("close", resolve));
    sh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const markdown = readFileSync(join(ROOT, page), "utf8").replace(/43119/g, String(port));
  for (const cmd of shellCommands(markdown)) {
    await before?.(cmd, sh);
    await runCommand(t, sh, page, cmd);
  }
}

t.test("README.md: the walk, a plugin of your own, the CLI's HTTP and keys, as written", async (t) => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  // The README asks the reader to write these two files before `bkg call hello.greet`.
  const pluginFile = fencedBlocks(readme, "js").find((b) => b.before.includes("plugins/hello/index.mjs"));
  const manifestFile = fencedBlocks(readme, "json").find((b) => b.before.includes("manifests/hello.json"));
  t.ok(pluginFile && manifestFile, "the README shows plugins/hello/index.mjs and manifests/hello.json");
  await runPage(t, "README.md", async (cmd, sh) => {
    if (!cmd.shell.startsWith("bkg call hello.greet")) return;
    rmSync(join(sh.dir, "plugins", "hello"), { force: true });
    mkdirSync(join(sh.dir, "plugins", "hello"));
    writeFileSync(join(sh.dir, "plugins", "hello", "index.mjs"), pluginFile!.lines.join("\n"));
    writeFileSync(join(sh.dir, "manifests", "hello.json"), manifestFile!.lines.join("\n"));
    // "The daemon sees the new manifest and starts the plugin at once": wait for it, as a reader would.
    const ready = await sh.run('for i in $(seq 1 150); do bkg plugins info hello --json 2>/dev/null | grep -q \'"state": *"ready"\' && break; sleep 0.2; done; bkg plugins info hello --json');
    t.match(ready.stdout, /"state": *"ready"/, "hello is ready once its files are written", { stderr: ready.stderr });
  });
});

t.test("docs/http.md: every example, as written", async (t) => {
  await runPage(t, "docs/http.md");
});
