/**
 * Issue 21.3: imports inside src/ point one way. A circle (type-only imports included: they
 * tie the files together for a reader just the same) fails this test with the files named.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import t from "tap";
import { ROOT } from "../../helpers/daemon.js";

const SRC = join(ROOT, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "node_modules" || name === "dist" ? [] : sources(p);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [p] : [];
  });
}

function resolveImport(from: string, spec: string): string {
  const base = normalize(join(dirname(from), spec));
  if (base.endsWith(".js")) return `${base.slice(0, -3)}.ts`;
  return join(base, "index.ts");
}

const IMPORT = /(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g;

const files = sources(SRC);
const graph = new Map<string, string[]>();
for (const f of files) {
  const deps = [...readFileSync(f, "utf8").matchAll(IMPORT)].map((m) => resolveImport(f, m[1] ?? m[2]));
  graph.set(
    f,
    deps.filter((d) => graph.has(d) || files.includes(d)),
  );
}

/** Tarjan's strongly connected components: every component with more than one file is a circle. */
function circles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(ROOT, w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

t.test("no import circles in src/", async (t) => {
  t.ok(files.length > 100, `read ${files.length} files`);
  t.same(circles(), [], "files that import each other, directly or through others");
});
