// Reads tap's TAP output for the failing checks, for run-tests.mjs's summary at the end of a run.

/**
 * The summary's lines: each failing check's file, its path of subtests, and its diagnostics
 * (at most `limit` checks).
 */
export function formatFailures(failures, resultsDir, limit = 20) {
  if (failures.length === 0) return [];
  const lines = ["", `# ${failures.length} failing check(s), by file (full output: ${resultsDir}):`];
  for (const { file, path, diagnostics } of failures.slice(0, limit)) {
    lines.push(`# ${file}`, `#   ${path.join(" > ")}`);
    for (const line of diagnostics) lines.push(`#     ${line}`);
  }
  if (failures.length > limit) lines.push(`# ... and ${failures.length - limit} more`);
  return lines;
}

/** The innermost failing checks in one file's TAP output, each with the subtest names that lead to it. */
export function failuresIn(text, name) {
  const lines = text.split("\n");
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
