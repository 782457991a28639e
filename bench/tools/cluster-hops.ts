/**
 * Where a call's time goes at 1 in flight, hop by hop (issue 17): nats-server, daemon b serving
 * the echo plugin, daemon a with no plugins, and a bare nats.js echo (bench/baselines/nats-echo.ts).
 * Subjects, each a closed loop at 1 in flight from this process:
 *   local  client -> daemon b -> echo plugin
 *   cross  client -> daemon a -> NATS -> daemon b -> echo plugin (and back)
 *   nats   client -> NATS -> bare nats.js echo (publish with a reply subject, one wildcard
 *          subscription for the replies: the pattern bkg's cluster uses), JSON both ways
 * For each it prints p50 and the user and system CPU per call of every process (/proc, 4 ms
 * ticks: read several seconds). With --perf it also records kernel tracepoints for 0.5 s inside
 * the local and the cross loop (`perf record -a`: read and write syscalls, needs root or
 * perf_event_paranoid <= 1) and prints, per process, the median time from reading a message to
 * the write it causes, and the median time from one process's write to the next one's read.
 *
 *   npm run bench -- --quick socket >/dev/null   # or just: npx tsc -b && npx tsc -p bench/tsconfig.json
 *   node bench/dist/tools/cluster-hops.js [--runs 3] [--seconds 3] [--perf]
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { bootDaemon, echoManifest, type BenchDaemon } from "../lib/daemon.js";
import { closedLoop } from "../lib/load.js";
import { SMALL } from "../lib/payloads.js";
import { BASELINES } from "../lib/paths.js";
import { argValue } from "../lib/argv.js";
import { startNatsServer } from "../lib/nats-server.js";
import { median } from "../lib/stats.js";
import { cleanupAll, clockTicks, killTree, spawnTracked, tail, waitFor } from "../lib/procs.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => Number(argValue(name) ?? dflt);
const RUNS = opt("--runs", 3);
const SECONDS = opt("--seconds", 3);
const PERF = args.includes("--perf");

/** user and system CPU ticks of a process (fields 14 and 15 of /proc/<pid>/stat). */
function ticks(pid: number): [number, number] {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return [Number(rest[11]), Number(rest[12])];
  } catch {
    return [0, 0];
  }
}

/**
 * Per-hop medians from `perf script` lines of syscalls:sys_exit_read, sys_enter_write(v):
 * a process's read of a message to its next write (by the fd written), and a write by one
 * process to the next read by another (nats-server's own handling is its read -> write).
 */
export function hopsFromPerfScript(text: string, roles: Record<string, number>): string[] {
  const byPid = new Map(Object.entries(roles).map(([role, pid]) => [String(pid), role]));
  const line = /^\s*\S+\s+(\d+)\/(\d+)\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s*(.*)$/;
  const lastRead = new Map<string, number>();
  const handling = new Map<string, number[]>();
  const gaps = new Map<string, number[]>();
  let lastWrite: { who: string; t: number } | undefined;
  for (const l of text.split("\n")) {
    const m = line.exec(l);
    if (!m) continue;
    const who = byPid.get(m[1]);
    if (!who) continue;
    const t = Number(m[3]) * 1e6;
    if (m[4] === "syscalls:sys_exit_read") {
      const n = Number.parseInt(m[5], 16);
      if (!(n > 1 && n < 2 ** 31)) continue; // errors (EAGAIN) and nats-server's 1-byte wake-ups
      lastRead.set(who, t);
      if (lastWrite && lastWrite.who !== who && who !== "nats") push(gaps, `${lastWrite.who} -> ${who}`, t - lastWrite.t);
    } else if (m[4] === "syscalls:sys_enter_write" || m[4] === "syscalls:sys_enter_writev") {
      if (who === "nats" && /count: 0x0+1\b/.test(m[5])) continue;
      const fd = /fd: (0x[0-9a-f]+)/.exec(m[5])?.[1];
      const r = lastRead.get(who);
      if (r !== undefined) {
        push(handling, `${who} (writes fd ${Number(fd)})`, t - r);
        lastRead.delete(who);
      }
      if (who !== "nats") lastWrite = { who, t };
    }
  }
  const out: string[] = [];
  for (const [k, v] of [...handling].sort()) if (v.length >= 20) out.push(`  read -> write  ${k.padEnd(26)} p50 ${median(v).toFixed(0).padStart(5)} µs (n ${v.length})`);
  for (const [k, v] of [...gaps].sort()) if (v.length >= 20) out.push(`  write -> read  ${k.padEnd(26)} p50 ${median(v).toFixed(0).padStart(5)} µs (n ${v.length})`);
  return out;
}

function push(m: Map<string, number[]>, k: string, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

const TRACEPOINTS = ["syscalls:sys_exit_read", "syscalls:sys_enter_write", "syscalls:sys_enter_writev"];

/** Records the tracepoints system-wide for 0.5 s into `data`, without blocking this process (it is the client). */
function perfRecord(data: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("perf", ["record", "-q", "-a", "-o", data, ...TRACEPOINTS.flatMap((e) => ["-e", e]), "--", "sleep", "0.5"], (err, _out, stderr) =>
      resolve(err ? `perf record failed (${stderr.trim() || err.message}): needs perf and root or kernel.perf_event_paranoid <= 1` : undefined),
    );
  });
}

function perfHops(data: string, roles: Record<string, number>): string[] {
  const script = execFileSync("perf", ["script", "-i", data, "-F", "comm,pid,tid,cpu,time,event,trace"], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  return hopsFromPerfScript(script, roles);
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const url = nats.url;
  const cluster = (nodeId: string) => ({ storage: { nodeId }, telemetry: { enabled: false }, cluster: { nats: { servers: [url] } } });
  const b: BenchDaemon = await bootDaemon({ manifests: { echo: echoManifest() }, config: cluster("b") });
  const a: BenchDaemon = await bootDaemon({ manifests: {}, config: cluster("a") });
  await b.waitReady(["echo"]);
  await waitFor(async () => (await a.client.cluster.plugins()).some((p) => p.node === "b" && p.name === "echo" && p.ready), "node a to see echo on b", 20_000);
  const [plugin] = await b.pluginPids("echo");
  const echo = spawnTracked(process.execPath, [join(BASELINES, "nats-echo.js"), url], { stdio: ["ignore", "pipe", "inherit"] });
  const echoOut = tail(echo.stdout);
  await waitFor(() => echoOut().includes("ready"), "the bare nats.js echo");
  const nc = await connect({ servers: url });
  const waiting = new Map<number, (v: unknown) => void>();
  let seq = 0;
  nc.subscribe("hops.reply.*", {
    callback: (err, m) => {
      if (err) return;
      const id = Number(m.subject.slice("hops.reply.".length));
      waiting.get(id)?.(JSON.parse(Buffer.from(m.data).toString("utf8")));
      waiting.delete(id);
    },
  });
  const subjects: { name: string; call: () => Promise<unknown>; roles: Record<string, number> }[] = [
    { name: "local", call: () => b.client.call("echo.echo", SMALL as Record<string, unknown>), roles: { client: process.pid, b: b.pid, plugin } },
    { name: "cross", call: () => a.client.call("echo.echo", SMALL as Record<string, unknown>), roles: { client: process.pid, a: a.pid, nats: nats.pid!, b: b.pid, plugin } },
    {
      name: "nats",
      call: () =>
        new Promise((resolve) => {
          const id = ++seq;
          waiting.set(id, resolve);
          nc.publish("hops.echo", Buffer.from(JSON.stringify(SMALL)), { reply: `hops.reply.${id}` });
        }),
      roles: { client: process.pid, nats: nats.pid!, echo: echo.pid! },
    },
  ];
  try {
    for (const s of subjects) await closedLoop(s.call, { inflight: 1, durationMs: 1000, maxCalls: 1e6 });
    const tick = 1e6 / clockTicks();
    for (let run = 1; run <= RUNS; run++) {
      console.log(`run ${run}/${RUNS}, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
      for (const s of subjects) {
        const pids = Object.entries(s.roles);
        const before = pids.map(([, pid]) => ticks(pid));
        const r = await closedLoop(s.call, { inflight: 1, durationMs: SECONDS * 1000, maxCalls: 1e7 });
        const cpu = pids.map(([role, pid], i) => {
          const [u, k] = ticks(pid);
          return `${role} ${(((u - before[i][0]) * tick) / r.calls).toFixed(0)}+${(((k - before[i][1]) * tick) / r.calls).toFixed(0)}`;
        });
        console.log(`  ${s.name.padEnd(6)} p50 ${r.p50Us.toFixed(0).padStart(5)} µs   CPU µs/call user+sys: ${cpu.join(", ")}`);
      }
    }
    if (PERF) {
      for (const s of subjects.slice(0, 2)) {
        const dir = mkdtempSync(join(tmpdir(), "bkg-hops-"));
        try {
          const loop = closedLoop(s.call, { inflight: 1, durationMs: 3000, maxCalls: 1e7 });
          await new Promise((r) => setTimeout(r, 1000));
          const failed = await perfRecord(join(dir, "perf.data"));
          const r = await loop;
          console.log(`${s.name}: per hop at 1 in flight (loop p50 ${r.p50Us.toFixed(0)} µs)`);
          for (const l of failed ? [`  ${failed}`] : perfHops(join(dir, "perf.data"), s.roles)) console.log(l);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await nc.close();
    killTree(echo.pid);
    await a.stop();
    await b.stop();
    nats.stop();
    await cleanupAll();
  }
}

await main();
