/**
 * RepoAgent (plugins/repoagent, Python) behind the real daemon: what a client sees for the
 * hardening items of the issue "nothing a client or a plugin sends may kill the daemon, exhaust
 * it, or read what it should not". The plugin's own pytest suite covers the rules in depth; this
 * checks that they hold end to end, through the daemon's routing and params validation.
 */
import t from "tap";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BkgError, ErrorCodes } from "@bkg/protocol";
import { ROOT, startTestDaemon } from "../helpers/daemon.js";

const errorOf = async (p: Promise<unknown>): Promise<BkgError> => {
  try {
    await p;
  } catch (e) {
    return e as BkgError;
  }
  throw new Error("the call succeeded, but it should have failed");
};

function repoagentManifest(workspace: string, config: Record<string, unknown>): Record<string, unknown> {
  const m = JSON.parse(readFileSync(join(ROOT, "manifests", "repoagent.json"), "utf8")) as Record<string, unknown>;
  delete m.$schema;
  return { ...m, cwd: join(ROOT, "plugins", "repoagent"), watch: [], config: { ...(m.config as object), workspaceRoots: [workspace], ...config } };
}

t.test("repoagent through the daemon", async (t) => {
  const ws = mkdtempSync(join(tmpdir(), "bkg-repoagent-"));
  t.teardown(() => rmSync(ws, { recursive: true, force: true }));
  mkdirSync(join(ws, ".bkg"));
  writeFileSync(join(ws, ".bkg", "root.token"), "daemon-secret\n");
  writeFileSync(join(ws, "notes.txt"), "hello\n");
  writeFileSync(join(ws, "evil.txt"), `${"a".repeat(40)}!\n`);
  const d = await startTestDaemon({ repoagent: repoagentManifest(ws, { regexTimeoutMs: 500 }) });
  t.teardown(() => d.stop());
  await d.waitState("repoagent", "ready");
  const c = d.client;

  t.test("bug: ls with a path outside the workspace, or in the ignored .bkg, is refused", async (t) => {
    for (const args of [["/root"], ["--", "/etc"], ["--color=auto", "../.."], [".bkg"], ["-R"]]) {
      const e = await errorOf(c.call("repoagent.repo.command", { name: "ls", args }));
      t.ok([ErrorCodes.InvalidParams, ErrorCodes.PermissionDenied].includes(e.code), `${args.join(" ")}: code ${e.code}`);
      t.match(e.message, /is refused/, `${args.join(" ")}: the message names the rule`);
      t.notMatch(JSON.stringify(e), /daemon-secret|root\.token/, "nothing from .bkg leaks");
    }
    const e = await errorOf(c.call("repoagent.repo.command", { name: "ls", cwd: ".bkg" }));
    t.equal(e.code, ErrorCodes.InvalidParams);
    t.match(e.message, /'\.bkg' is ignored/);
    const ok = await c.call<{ stdout: string }>("repoagent.repo.command", { name: "ls", args: ["notes.txt"] });
    t.match(ok.stdout, /notes\.txt/, "a path inside the workspace still works");
  });

  // (that other calls are served while a regex runs is shown in the plugin's own suite,
  // test_regex_budget.py, with a budget no test waits for)
  t.test("bug: a catastrophic regex stops at regexTimeoutMs and the plugin keeps serving", async (t) => {
    const e = await errorOf(c.call("repoagent.repo.search", { query: "(a+)+$", regex: true }));
    t.equal(e.code, ErrorCodes.PluginError);
    t.match(e.message, /'\(a\+\)\+\$' used up its time budget of 500 ms \(regexTimeoutMs\)/);
    t.same(await c.call("repoagent.repo.file.read", { path: "notes.txt" }).then((r: any) => r.content), "hello\n");
    const r = await c.call<{ count: number }>("repoagent.repo.search", { query: "^hel+o$", regex: true });
    t.equal(r.count, 1, "regex searches still work");
  });

  t.test("bug: an offset of 1e15 is a clear invalid-params error, not the OS's EINVAL", async (t) => {
    const e = await errorOf(c.call("repoagent.repo.file.read", { path: "notes.txt", offset: 1e15 }));
    t.equal(e.code, ErrorCodes.InvalidParams);
    t.match(e.message, /offset 1000000000000000 is past the end of 'notes\.txt' \(6 bytes\)/);
    t.notMatch(e.message, /Errno|Invalid argument/);
  });
});
