/**
 * Reads V8 CPU profiles (.cpuprofile from --cpu-prof, or the inspector's Profiler) and
 * summarises self time: the top functions and the share of each area (vscode-jsonrpc, bkg's
 * framing, the router, node internals, GC). Samples can be limited to a time window on the
 * monotonic clock, so start-up and shutdown do not count.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Session } from "node:inspector/promises";
import type { ProfileSummary } from "./scenario.js";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Monotonic clock in µs: the clock V8 stamps profile samples with (CLOCK_MONOTONIC). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface Window {
  fromUs: number;
  toUs: number;
}

/** Summarises a profile's self time (idle excluded) within `window` if given. */
export function summarizeProfile(profile: CpuProfile, processLabel: string, caseLabel: string, window?: Window, topN = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const node = byId.get(profile.samples[i]);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    self.set(node.id, (self.get(node.id) ?? 0) + dt);
    total += dt;
  }
  const byFn = new Map<string, { fn: string; where: string; us: number }>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : "";
    const key = `${cf.functionName}\0${where}`;
    const e = byFn.get(key) ?? { fn: cf.functionName || "(anonymous)", where, us: 0 };
    e.us += us;
    byFn.set(key, e);
    const area = areaOf(cf);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / Math.max(1, total)) * 1000) / 10;
  // Inclusive time: each sample counts once for every distinct bkg or package function on its stack.
  const incl = new Map<string, { fn: string; where: string; us: number }>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n)!.callFrame;
      if (!cf.url || cf.url.startsWith("node:") || cf.url.includes("/bench/")) continue;
      const where = `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
      const key = `${cf.functionName}\0${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key) ?? { fn: cf.functionName || "(anonymous)", where, us: 0 };
      e.us += us;
      incl.set(key, e);
    }
  }
  return {
    process: processLabel,
    case: caseLabel,
    totalMs: Math.round(total / 1000),
    top: [...byFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: Math.round(e.us / 1000), selfPct: pct(e.us) })),
    byArea: [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfPct: pct(us) })),
    inclusive: [...incl.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, totalPct: pct(e.us) })),
  };
}

/** The newest .cpuprofile files in `dir`, with the pid from their name (CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile). */
export function profilesIn(dir: string): { file: string; pid: number; profile: CpuProfile }[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".cpuprofile"));
  } catch {
    return [];
  }
  return names.map((n) => ({ file: join(dir, n), pid: Number(n.split(".")[3]), profile: JSON.parse(readFileSync(join(dir, n), "utf8")) as CpuProfile }));
}

/** Profiles this process with the inspector while `fn` runs. */
export async function profileSelf<T>(fn: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
    const result = await fn();
    const { profile } = (await session.post("Profiler.stop")) as { profile: CpuProfile };
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

function shortUrl(url: string): string {
  const u = url.replace(/^file:\/\//, "");
  const nm = u.lastIndexOf("/node_modules/");
  if (nm >= 0) return u.slice(nm + "/node_modules/".length);
  const m = /\/(src\/protocol\/dist\/.*|plugin-sdk\/.*|plugins\/.*|bench\/dist\/.*|dist\/.*)$/.exec(u);
  return m ? m[1] : u;
}

/** Which part of the stack a frame belongs to. */
export function areaOf(cf: CallFrame): string {
  const u = cf.url;
  if (cf.functionName === "(garbage collector)") return "GC";
  if (cf.functionName === "(program)") return "V8/native (program)";
  if (!u) return "native / builtins";
  if (u.startsWith("node:")) return "node internals (net, streams, timers, modules)";
  const nm = u.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = u.slice(nm + "/node_modules/".length).split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (u.includes("/src/protocol/")) return "bkg framing (@bkg/protocol)";
  if (u.includes("/plugin-sdk/")) return "plugin SDK";
  if (u.includes("/plugins/")) return "plugin code";
  if (u.includes("/bench/")) return "benchmark code";
  const m = /\/dist\/([^/]+)\//.exec(u);
  if (m) return `bkg ${m[1]}`;
  if (u.includes("/dist/")) return "bkg other";
  return "other";
}
