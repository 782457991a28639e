// npm test: runs tap as before, then, when a test failed, prints which ones at the very end.
// CI shows only the head and tail of a long log; a failure in the middle of 7,000 checks would
// otherwise be invisible there. tap keeps each file's output under .tap/test-results.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const resultsDir = ".tap/test-results";
const startedAt = Date.now();
const tap = spawn(process.execPath, ["node_modules/tap/dist/esm/run.mjs", ...process.argv.slice(2)], {
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => tap.kill(signal));

tap.on("exit", (code, signal) => {
  if (code !== 0) printFailures();
  process.exitCode = code ?? (signal ? 1 : 0);
});

function printFailures() {
  const failures = [];
  for (const file of resultFiles(resultsDir)) {
    if (statSync(file).mtimeMs < startedAt - 1000) continue;
    failures.push(...failuresIn(file));
  }
  if (failures.length === 0) return;
  const lines = ["", `# ${failures.length} failing check(s), by file (full output: ${resultsDir}):`];
  for (const { file, path, diagnostics } of failures.slice(0, 20)) {
    lines.push(`# ${file}`, `#   ${path.join(" > ")}`);
    for (const line of diagnostics) lines.push(`#     ${line}`);
  }
  if (failures.length > 20) lines.push(`# ... and ${failures.length - 20} more`);
  console.log(lines.join("\n"));
}

function* resultFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* resultFiles(path);
    else if (entry.name.endsWith(".tap")) yield path;
  }
}

/** The innermost failing checks of one file, each with the subtest names that lead to it. */
function failuresIn(file) {
  const lines = readFileSync(file, "utf8").split("\n");
  const name = relative(resultsDir, file).replace(/\.tap$/, "");
  const failures = [];
  const subtests = [];
  // failedInside[d]: a check at depth d failed since the subtest that holds it began.
  const failedInside = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const depth = (line.length - line.trimStart().length) / 4;
    const subtest = /^\s*# Subtest: (.*)$/.exec(line);
    if (subtest) {
      subtests.length = depth;
      subtests[depth] = subtest[1];
      failedInside[depth + 1] = false;
      continue;
    }
    const result = /^\s*(not )?ok \d+ - (.*?)(?: # time=.*)?$/.exec(line);
    if (!result) continue;
    const failedChild = failedInside[depth + 1] === true;
    failedInside[depth + 1] = false;
    if (!result[1] || /# (TODO|SKIP)/i.test(line)) continue;
    failedInside[depth] = true;
    // A subtest that failed because a check inside it failed is reported through that check.
    if (failedChild) continue;
    failures.push({ file: name, path: [...subtests.slice(0, depth), result[2]], diagnostics: diagnosticsAfter(lines, i, depth) });
  }
  return failures;
}

/** The YAML block under a failing check, without the source excerpt and the location fields (the stack names both). */
function diagnosticsAfter(lines, index, depth) {
  const indent = " ".repeat(depth * 4 + 2);
  const diagnostics = [];
  let skipping = false;
  for (let j = index + 1; j < lines.length && diagnostics.length < 16; j++) {
    const line = lines[j];
    if (!line.startsWith(indent)) break;
    const own = line.slice(indent.length);
    if (own === "---" || own === "...") continue;
    const topLevelKey = /^\S/.test(own);
    if (topLevelKey) skipping = /^(source|at):/.test(own);
    if (!skipping) diagnostics.push(own);
  }
  return diagnostics;
}
