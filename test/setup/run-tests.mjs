// npm test: runs tap as before, then, when a test failed, prints which ones at the very end.
// CI shows only the head and tail of a long log; a failure in the middle of 7,000 checks would
// otherwise be invisible there. tap keeps each file's output under .tap/test-results.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { failuresIn, formatFailures } from "./tap-failures.mjs";

const resultsDir = ".tap/test-results";
const startedAt = Date.now();
// tap's bin as npm links it: the package's public entry, wherever a tap release keeps its files.
const tap = spawn(process.execPath, ["node_modules/.bin/tap", ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => tap.kill(signal));

tap.on("exit", (code, signal) => {
  if (code !== 0) printFailures();
  process.exitCode = code ?? (signal ? 1 : 0);
});

function printFailures() {
  const failures = [];
  for (const file of resultFiles(resultsDir)) {
    if (statSync(file).mtimeMs < startedAt - 1000) continue;
    failures.push(...failuresIn(readFileSync(file, "utf8"), relative(resultsDir, file).replace(/\.tap$/, "")));
  }
  const lines = formatFailures(failures, resultsDir);
  if (lines.length > 0) console.log(lines.join("\n"));
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
