/**
 * What tracing adds to a cross-node call's daemon code, in this process (the steadier figure on a
 * shared machine; the end-to-end pairs of cluster-tracing.ts cannot resolve a few µs):
 *   a-side  Router.call for a plugin served only on another node, with tracing on and off; the
 *           remote side JSON-encodes the call item as RemoteCaller.send does (with the
 *           traceparent when there is one) and answers at once. 64 calls in flight.
 *   tracer  the two spans a traced cross-node call records: daemon a's (a new trace) and
 *           daemon b's (a's traceparent as it arrives, JSON-parsed; caller "node:a/...").
 * With --before DIST (another build's dist/, e.g. the commit before a change) both builds run
 * in turn in this process, so the change is measured paired.
 *
 *   npx tsc -b && npx tsc -p bench/tsconfig.json
 *   node bench/dist/tools/tracing-remote-path.js [--before /path/to/old/dist] [--rounds 9]
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { argValue as opt } from "../lib/argv.js";
import { ROOT } from "../lib/paths.js";
import { median } from "../lib/stats.js";

const BEFORE = opt("--before");
const ROUNDS = Number(opt("--rounds") ?? 9);
const SETTINGS = { sampleRatio: 1, bufferTraces: 1000, spansPerTrace: 200 };
const PARAMS = { id: 4711, user: "bench", tags: ["alpha", "beta", "gamma"], values: [1, 2, 3, 5, 8, 13], ok: true, ratio: 0.625 };

interface Build {
  Router: any;
  Tracer: any;
}

async function load(dist: string): Promise<Build> {
  const from = (f: string) => import(pathToFileURL(join(dist, f)).href);
  return { Router: (await from("bus/router.js")).Router, Tracer: (await from("tracing/tracer.js")).Tracer };
}

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Daemon a's router with a remote route that encodes the call item and answers at once. */
function routerA(b: Build, traced: boolean): any {
  const r = new b.Router({ get: () => undefined, hosts: new Map() });
  if (traced) r.tracer = new b.Tracer(SETTINGS, "a");
  const run = (target: string, params: unknown, deadline: number, _cancel: unknown, opts: any, traceparent?: string) => {
    const item: Record<string, unknown> = { id: 1, target, params, budgetMs: deadline - Date.now(), caller: opts.caller, stream: false };
    // Builds before the change passed the traceparent inside a copy of the options.
    const tp = traceparent ?? opts.traceparent;
    if (tp) item.traceparent = tp;
    return Promise.resolve((JSON.parse(JSON.stringify(item)) as { params: unknown }).params);
  };
  r.cluster = { route: () => ({ callTimeoutMs: 30_000, run }) };
  return r;
}

async function aSide(r: any, calls: number): Promise<number> {
  const c0 = cpuMicros();
  for (let i = 0; i < calls; i += 64) {
    const batch: Promise<unknown>[] = [];
    for (let j = 0; j < 64; j++) batch.push(r.call("echo.echo", PARAMS, { caller: "client:1" }));
    await Promise.all(batch);
  }
  return (cpuMicros() - c0) / calls;
}

/** The two spans of `calls` traced cross-node calls; `incoming` are a's traceparents as b parses them. */
function bothSpans(b: Build, incoming: string[]): number {
  const a = new b.Tracer(SETTINGS, "a");
  const bb = new b.Tracer(SETTINGS, "b");
  const c0 = cpuMicros();
  for (const tp of incoming) {
    const sa = a.begin(undefined, "echo.echo", "client:1");
    a.end(sa, 0);
    const sb = bb.begin(tp, "echo.echo", `node:a/${sa.caller}`);
    sb.instance = "echo#1@4242";
    bb.end(sb, 0);
  }
  return (cpuMicros() - c0) / incoming.length;
}

async function main(): Promise<void> {
  const builds: [string, Build][] = [["now", await load(join(ROOT, "dist"))]];
  if (BEFORE) builds.push(["before", await load(BEFORE)]);
  const gen = new builds[0][1].Tracer(SETTINGS, "a");
  const incoming = Array.from({ length: 100_000 }, () => (JSON.parse(JSON.stringify({ tp: gen.reserve(undefined).traceparent })) as { tp: string }).tp);
  const subjects: [string, () => Promise<number> | number][] = [];
  for (const [name, b] of builds) {
    const on = routerA(b, true);
    const off = routerA(b, false);
    subjects.push([`${name} a-side tracing on`, () => aSide(on, 64_000)], [`${name} a-side tracing off`, () => aSide(off, 64_000)]);
    subjects.push([`${name} both spans`, () => bothSpans(b, incoming)]);
  }
  const res = new Map<string, number[]>(subjects.map(([k]) => [k, []]));
  // Round 0 warms up; the order rotates every round.
  for (let r = 0; r <= ROUNDS; r++) {
    for (let j = 0; j < subjects.length; j++) {
      const [k, f] = subjects[(j + r) % subjects.length];
      const us = await f();
      if (r > 0) res.get(k)!.push(us);
    }
  }
  for (const [k, v] of res) console.log(`${k.padEnd(30)} ${median(v).toFixed(2)} µs per call (rounds ${v.map((x) => x.toFixed(1)).join(" ")})`);
  for (const [name] of builds) {
    const cost = median(res.get(`${name} a-side tracing on`)!) - median(res.get(`${name} a-side tracing off`)!);
    console.log(`${name}: tracing adds ${cost.toFixed(2)} µs to daemon a's router path; both spans ${median(res.get(`${name} both spans`)!).toFixed(2)} µs`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
