/**
 * Scenario 2: HTTP POST /api/call/echo/echo with autocannon, 1 and 64 connections, with an
 * API key, beside a bare node:http server that forwards each body to a child over
 * vscode-jsonrpc stdio (bench/baselines/http-forwarder). req/s from autocannon; the
 * 1-connection p50 also from our own µs-resolution client (autocannon's histogram has 1 ms
 * steps). Reports "not available yet" while the daemon has no HTTP gateway.
 */
import { Agent } from "node:http";
import { post } from "./lib/http-client.js";
import { startListening } from "./lib/baselines.js";
import { cannon, type CannonResult } from "./lib/autocannon.js";
import { bootGateway } from "./lib/gateway.js";
import { profileDaemon } from "./lib/profile-daemon.js";
import { closedLoop } from "./lib/load.js";
import { SMALL } from "./lib/payloads.js";
import { unavailable, type Row, type Scenario, type TargetCheck } from "./lib/scenario.js";
import { summarize, type Summary } from "./lib/stats.js";

interface Subject {
  name: string;
  url: string;
  headers: Record<string, string>;
  pids: Record<string, number | undefined>;
  /** The role that is the middle hop (the daemon, or the forwarding server). */
  hop: string;
}

export const scenario: Scenario = {
  name: "http",
  title: "2. HTTP calls (autocannon)",
  async run(ctx) {
    const gw = await bootGateway();
    if ("unavailable" in gw) return unavailable(gw.unavailable);
    const bare = await startListening("http-forwarder.js");
    const selfServer = await startListening("http-forwarder.js", ["self"]);
    let profKey = "";
    let profUrl = "";
    try {
      const body = JSON.stringify(SMALL);
      const json = { "content-type": "application/json" };
      const subjects: Subject[] = [
        { name: "bkg (API key)", url: `${gw.baseUrl}/api/call/echo/echo`, headers: { ...json, authorization: `Bearer ${gw.key}` }, pids: gw.pids, hop: "daemon" },
        { name: "bare node:http -> child", url: `http://127.0.0.1:${bare.port}/api/call/echo/echo`, headers: json, pids: bare.pids, hop: "server" },
        { name: "bare node:http answering itself", url: `http://127.0.0.1:${selfServer.port}/api/call/echo/echo`, headers: json, pids: { server: selfServer.pids.server }, hop: "server" },
      ];
      // autocannon runs for whole seconds (it stops on its 1 s tick), so --quick runs 1 s and
      // leaves the 1-connection case to our own client.
      const duration = ctx.quick ? 1 : 3;
      const cannonConns = ctx.quick ? [64] : [1, 64];
      const runs = ctx.quick ? 2 : ctx.runs;
      const res = new Map<string, CannonResult[]>();
      const p50 = new Map<string, number[]>();
      const push = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
      // Warm-up, unmeasured.
      for (const s of subjects) {
        if (ctx.quick) {
          const agent = new Agent({ keepAlive: true, maxSockets: 16 });
          await closedLoop(() => post(agent, new URL(s.url), s.headers, body), { inflight: 16, durationMs: 300, maxCalls: 100_000 });
          agent.destroy();
        } else await cannon({ url: s.url, method: "POST", body, headers: s.headers, connections: 16, duration: 1 });
      }
      for (let r = 0; r < runs; r++) {
        for (const conns of cannonConns) {
          for (let j = 0; j < subjects.length; j++) {
            const s = subjects[(r + j) % subjects.length];
            push(res, `${conns}\0${s.name}`, await cannon({ url: s.url, method: "POST", body, headers: s.headers, connections: conns, duration, pids: s.pids }));
          }
        }
        for (const s of subjects.slice(0, 2)) {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          const url = new URL(s.url);
          const lr = await closedLoop(() => post(agent, url, s.headers, body), { inflight: 1, durationMs: ctx.quick ? 300 : duration * 500, warmupMs: 100, maxCalls: 200_000 });
          agent.destroy();
          push(p50, s.name, lr.p50Us);
        }
        ctx.log(`http: run ${r + 1}/${runs}`);
      }
      const rows: Row[] = [];
      const sum = (conns: number, s: Subject, f: (c: CannonResult) => number): Summary => summarize((res.get(`${conns}\0${s.name}`) ?? []).map(f));
      const perRunRatio = (conns: number, f: (c: CannonResult) => number, baseline = 1) => {
        const a = res.get(`${conns}\0${subjects[0].name}`) ?? [];
        const b = res.get(`${conns}\0${subjects[baseline].name}`) ?? [];
        return summarize(a.map((x, i) => f(x) / f(b[i])));
      };
      for (const conns of [1, 64]) {
        for (const s of subjects) {
          if (!res.has(`${conns}\0${s.name}`) && !(conns === 1 && p50.has(s.name))) continue;
          const metrics = [
            { label: "req/s", summary: sum(conns, s, (c) => c.reqPerSec) },
            { label: "p50 ms (autocannon)", summary: sum(conns, s, (c) => c.p50Ms) },
            { label: "p99 ms (autocannon)", summary: sum(conns, s, (c) => c.p99Ms) },
            { label: "server CPU µs/req (all)", summary: sum(conns, s, (c) => Object.values(c.cpuByRole).reduce((a, b) => a + b, 0)) },
            { label: "CPU µs/req (hop)", summary: sum(conns, s, (c) => c.cpuByRole[s.hop] ?? NaN) },
            { label: "non-2xx + errors", summary: sum(conns, s, (c) => c.non2xx + c.errors) },
          ];
          if (conns === 1) metrics.splice(1, 0, { label: "p50 µs (own client)", summary: summarize(p50.get(s.name) ?? []) });
          rows.push({
            case: `${conns} connection${conns > 1 ? "s" : ""}`,
            subject: s.name,
            metrics,
            vs:
              s === subjects[0] && res.has(`${conns}\0${s.name}`)
                ? `req/s ${perRunRatio(conns, (c) => c.reqPerSec).median.toFixed(2)}x bare -> child, ${perRunRatio(conns, (c) => c.reqPerSec, 2).median.toFixed(2)}x node:http alone`
                : undefined,
          });
        }
      }
      rows.push({ case: "auth off", subject: "bkg", metrics: [], vs: "not available: /api/call always needs a credential (no switch turns auth off)" });
      const r64 = perRunRatio(64, (c) => c.reqPerSec);
      const bkg64 = sum(64, subjects[0], (c) => c.reqPerSec);
      const bkgP50 = summarize(p50.get(subjects[0].name)!);
      const bareP50 = summarize(p50.get(subjects[1].name)!);
      const targets: TargetCheck[] = [
        {
          target: "64 connections: at least 1.5x the bare forwarding server",
          met: r64.median >= 1.5,
          detail: `${r64.median.toFixed(2)}x (runs ${r64.min.toFixed(2)}–${r64.max.toFixed(2)})${r64.median >= 1.5 ? "" : `; gap ${((1.5 / r64.median - 1) * 100).toFixed(0)}% more req/s needed`}`,
        },
        {
          target: "64 connections: above 15,000 req/s",
          met: bkg64.median > 15_000,
          detail: `${bkg64.median.toFixed(0)} req/s${bkg64.median > 15_000 ? "" : `; gap ${(15_000 - bkg64.median).toFixed(0)} req/s`}; on this machine node:http answering itself (no child, no framework) did ${sum(64, subjects[2], (c) => c.reqPerSec).median.toFixed(0)} req/s`,
        },
        {
          target: "1 connection: p50 at most the bare server's",
          met: bkgP50.median <= bareP50.median,
          detail: `bkg ${bkgP50.median.toFixed(0)} µs vs bare ${bareP50.median.toFixed(0)} µs${bkgP50.median <= bareP50.median ? "" : `; gap ${(bkgP50.median - bareP50.median).toFixed(0)} µs`}`,
        },
      ];
      const profiles = ctx.profile
        ? await profileDaemon(
            "HTTP POST /api/call/echo/echo, 64 connections",
            ctx.log,
            async (nodeArgs) => {
              const g = await bootGateway({}, nodeArgs);
              if ("unavailable" in g) return undefined;
              profKey = g.key;
              profUrl = `${g.baseUrl}/api/call/echo/echo`;
              return { pid: g.daemon.pid, stop: () => g.daemon.stop() };
            },
            () => cannon({ url: profUrl, method: "POST", body, headers: { ...json, authorization: `Bearer ${profKey}` }, connections: 64, duration: 3 }),
          )
        : undefined;
      return {
        available: true,
        rows,
        targets,
        profiles,
        notes: [
          `Body: ${body.length} B of JSON. autocannon runs in the benchmark process, ${duration} s per case and subject, ${runs} runs, interleaved; rate limits off (they would answer 429), access log on (the default).`,
          `p50 µs (own client): one keep-alive connection, one request at a time, node:http, for ${ctx.quick ? "300 ms" : "half the case's duration"}.${ctx.quick ? " With --quick, autocannon runs only the 64-connection case." : ""}`,
          "node:http answering itself: the same bare server returning the body without any child: the ceiling of one Node HTTP process on this machine, beside autocannon.",
          "server CPU µs/req (all): bkg's daemon + echo plugin + apikeys plugin, or the bare server + its child; (hop): the daemon or the bare server alone. autocannon's own CPU is not counted.",
        ],
      };
    } finally {
      await bare.close();
      await selfServer.close();
      await gw.daemon.stop();
    }
  },
};
