/**
 * npm test's closing summary (test/setup/tap-failures.mjs): from a file's TAP output, the
 * failing checks themselves, with their subtest path, never the subtests that fail because of them.
 */
import t from "tap";
import { failuresIn, formatFailures } from "../../setup/tap-failures.mjs";

interface Failure {
  file: string;
  path: string[];
  diagnostics: string[];
}

// What tap 21 wrote for a file with a nested failure, a passing sibling, a TODO and a plain failure.
const TAP = `TAP version 14
# Subtest: outer
    # Subtest: inner a
        ok 1 - should be equal
        not ok 2 - one is two
          ---
          compare: ===
          at:
            fileName: test/x.test.ts
            lineNumber: 3
          stack: |
            Test.<anonymous> (test/x.test.ts:3:53)
          source: >
            t.test("inner a", async (t) => { t.equal(1, 2, "one is two"); });
          diff: |
            -2
            +1
          ...
        
        1..2
    not ok 1 - inner a # time=50.131ms
      ---
      at:
        fileName: test/x.test.ts
      ...
    
    # Subtest: inner b
        ok 1 - should be equal
        not ok 2 - later # TODO not yet
        1..2
    ok 2 - inner b # time=7.426ms
    
    1..2
not ok 1 - outer # time=76.636ms
  ---
  at:
    fileName: test/x.test.ts
  ...

# Subtest: fine
    ok 1 - yes
    1..1
ok 2 - fine # time=0.564ms

# Subtest: leafy
    not ok 1 - plain fail
      ---
      stack: |
        Test.<anonymous> (test/x.test.ts:7:34)
      ...
    1..1
not ok 3 - leafy # time=1.2ms
1..3
`;

t.test("the failing checks, each under its subtests, with diagnostics but no source excerpt", async (t) => {
  const failures: Failure[] = failuresIn(TAP, "test/x.test.ts");
  t.same(
    failures.map((f) => f.path),
    [
      ["outer", "inner a", "one is two"],
      ["leafy", "plain fail"],
    ],
  );
  t.same(failures[0].diagnostics, ["compare: ===", "stack: |", "  Test.<anonymous> (test/x.test.ts:3:53)", "diff: |", "  -2", "  +1"]);
  t.same(failures[1].diagnostics, ["stack: |", "  Test.<anonymous> (test/x.test.ts:7:34)"]);
  t.equal(failures[0].file, "test/x.test.ts");
});

t.test("a file that failed with no failing check inside (a timeout, a crash) is reported itself", async (t) => {
  const failures: Failure[] = failuresIn("TAP version 14\nnot ok 1 - timeout!\n  ---\n  signal: SIGTERM\n  ...\n1..1\n", "test/slow.test.ts");
  t.same(failures, [{ file: "test/slow.test.ts", path: ["timeout!"], diagnostics: ["signal: SIGTERM"] }]);
});

t.test("the summary names each file and path, and says how many it left out", async (t) => {
  const one = { file: "test/x.test.ts", path: ["outer", "one is two"], diagnostics: ["diff: |"] };
  t.same(formatFailures([], ".tap/test-results"), []);
  const lines: string[] = formatFailures([one, one, one], ".tap/test-results", 2);
  t.equal(lines[1], "# 3 failing check(s), by file (full output: .tap/test-results):");
  t.same(lines.slice(2, 5), ["# test/x.test.ts", "#   outer > one is two", "#     diff: |"]);
  t.equal(lines.at(-1), "# ... and 1 more");
});
