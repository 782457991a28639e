/**
 * Issue 11.1: the typed client used from another project, as the README shows: `npm install`
 * of the checkout, `import { connect } from "bkg"`, type-checked by tsc (strict, NodeNext) and
 * run against a real daemon.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ROOT, echoManifest, startTestDaemon } from "../helpers/daemon.js";

t.setTimeout(10 * 60_000);

const APP = `import { connect, BkgError, ErrorCodes, type DaemonStatus } from "bkg";

const bkg = await connect({ socketPath: process.argv[2] });
const status: DaemonStatus = await bkg.status();
const reversed = await bkg.call("echo.reverse", { text: "abc" });
const chunks: unknown[] = [];
const total = await bkg.call("echo.stream", { n: 3 }, { onProgress: (v) => chunks.push(v) });
let code = 0;
try {
  await bkg.call("echo.nope", {});
} catch (e) {
  if (e instanceof BkgError) code = e.code;
}
// @ts-expect-error a call's target is a string: the client's types are real, not any
if (process.argv[3] === "never") await bkg.call(42, {});
console.log(JSON.stringify({ version: status.version, reversed, chunks, total, code, methodNotFound: ErrorCodes.MethodNotFound }));
bkg.close();
`;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd });
    let out = "";
    let stdout = "";
    p.stdout.on("data", (d) => ((out += d), (stdout += d)));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out, stdout }));
  });
}

t.test("another project installs the checkout, type-checks against its client and calls a daemon", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-other-project-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "other-project", private: true, type: "module" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        outDir: "dist",
        skipLibCheck: false,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
      },
      include: ["app.ts"],
    }),
  );
  writeFileSync(join(dir, "app.ts"), APP);

  // npm links a folder dependency (no copy, no registry), as `npm install ../bkg` does for a reader.
  const install = await run("npm", ["install", ROOT, "--offline", "--no-audit", "--no-fund"], dir);
  t.equal(install.code, 0, "npm install <checkout>", { output: install.out.slice(-3000) });
  const tsc = await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], dir);
  t.equal(tsc.code, 0, "tsc --strict accepts the program, and the misuse is a type error (@ts-expect-error)", { output: tsc.out });

  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const app = await run(process.execPath, [join(dir, "dist", "app.js"), d.socketPath], dir);
  t.equal(app.code, 0, "the program runs", { output: app.out });
  const answer = JSON.parse(app.stdout.trim().split("\n").at(-1)!);
  t.match(answer, { version: /^\d+\.\d+\.\d+/, reversed: "cba", chunks: [{ i: 0 }, { i: 1 }, { i: 2 }], total: { count: 3 }, code: answer.methodNotFound });
  t.equal(answer.methodNotFound, -32601);
});
