import satisfies from "semver/functions/satisfies.js";
import type { Manifest } from "./manifest.js";

export type Readiness = { ok: true } | { ok: false; reason: string };

/**
 * Whether a plugin's `requires` are met by the other valid manifests (by name and semver range).
 * Pure. A requirement on a plugin that is known but not yet running counts as met here: start
 * order, not liveness, is what this checks. In a cluster (`clustered`), a plugin with no manifest
 * here may be served by another node, so its absence is not a problem: the router sends the calls
 * to a node whose version satisfies the range.
 */
export function checkRequires(m: Manifest, all: ReadonlyMap<string, Manifest>, clustered = false): Readiness {
  const problems: string[] = [];
  for (const [dep, range] of Object.entries(m.requires)) {
    const other = all.get(dep);
    if (!other && clustered) continue;
    if (!other) problems.push(`requires plugin "${dep}" (${range}), which has no valid manifest`);
    else if (!satisfies(other.version, range)) problems.push(`requires ${dep} ${range}, but ${dep} is ${other.version}`);
    else if (!other.enabled) problems.push(`requires ${dep}, which is disabled`);
  }
  const cycle = findCycle(m.name, all);
  if (cycle) problems.push(`dependency cycle: ${cycle.join(" -> ")}`);
  return problems.length ? { ok: false, reason: problems.join("; ") } : { ok: true };
}

/** Names in an order where each plugin comes after everything it requires. Cycles are left in file order. */
export function startOrder(all: ReadonlyMap<string, Manifest>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, stack: Set<string>) => {
    if (seen.has(name) || stack.has(name)) return;
    stack.add(name);
    for (const dep of Object.keys(all.get(name)?.requires ?? {})) if (all.has(dep)) visit(dep, stack);
    stack.delete(name);
    seen.add(name);
    out.push(name);
  };
  for (const name of [...all.keys()].sort()) visit(name, new Set());
  return out;
}

function findCycle(start: string, all: ReadonlyMap<string, Manifest>): string[] | undefined {
  const path: string[] = [];
  const walk = (name: string): string[] | undefined => {
    if (path.includes(name)) return name === start ? [...path, name] : undefined;
    path.push(name);
    for (const dep of Object.keys(all.get(name)?.requires ?? {})) {
      const c = walk(dep);
      if (c) return c;
    }
    path.pop();
    return undefined;
  };
  return walk(start);
}
