/**
 * Scenario 3: WebSocket CALL round trips on /ws/plugins, 1 and 64 in flight on one connection,
 * beside a bare ws server forwarding to a child over vscode-jsonrpc stdio
 * (bench/baselines/ws-forwarder). Reports "not available yet" while the daemon has no
 * WebSocket hub.
 */
import WebSocket from "ws";
import { startListening } from "./lib/baselines.js";
import { bootGateway } from "./lib/gateway.js";
import { profileDaemon } from "./lib/profile-daemon.js";
import { closedLoop, type LoadResult } from "./lib/load.js";
import { SMALL } from "./lib/payloads.js";
import { withTimeout } from "./lib/procs.js";
import { unavailable, type Row, type Scenario } from "./lib/scenario.js";
import { summarize } from "./lib/stats.js";

interface WsCaller {
  call(params: unknown): Promise<unknown>;
  close(): void;
}

/** Opens a connection; `bkg` waits for the bootstrap message first. Answers are matched by id. */
async function openWs(url: string, headers: Record<string, string>, waitBootstrap: boolean, method: string): Promise<WsCaller> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let bootstrapped!: () => void;
  const boot = new Promise<void>((r) => (bootstrapped = r));
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { type: string; id?: number; payload?: unknown; error?: { message: string } };
    if (m.type === "bootstrap") return bootstrapped();
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.type === "result") p.resolve(m.payload);
    else if (m.type === "error") p.reject(new Error(m.error?.message ?? "error"));
  });
  const closed = new Promise<never>((_, reject) => ws.once("close", (code) => reject(new Error(`websocket closed (${code})`))));
  closed.catch(() => undefined);
  await withTimeout(Promise.race([new Promise<void>((r, j) => ws.once("open", () => r()).once("error", j)), closed]), 10_000, `open ${url}`);
  if (waitBootstrap) await withTimeout(Promise.race([boot, closed]), 10_000, "the bootstrap message");
  let seq = 0;
  return {
    call: (params) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ action: "CALL", id, method, params }));
      }),
    close: () => ws.terminate(),
  };
}

export const scenario: Scenario = {
  name: "ws",
  title: "3. WebSocket calls",
  async run(ctx) {
    const gw = await bootGateway();
    if ("unavailable" in gw) return unavailable(gw.unavailable.replace("GET", "(for /ws/plugins) GET"));
    const bare = await startListening("ws-forwarder.js");
    const callers: WsCaller[] = [];
    try {
      const bkgWs = await openWs(`ws://${gw.host}:${gw.port}/ws/plugins`, { authorization: `Bearer ${gw.key}` }, true, "echo.echo");
      const bareWs = await openWs(`ws://127.0.0.1:${bare.port}/`, {}, false, "echo.echo");
      callers.push(bkgWs, bareWs);
      const subjects = [
        { name: "bkg /ws/plugins", ws: bkgWs, pids: gw.pids },
        { name: "bare ws -> child", ws: bareWs, pids: bare.pids },
      ];
      const durationMs = ctx.quick ? 500 : 3000;
      const runs = ctx.quick ? 2 : ctx.runs;
      for (const s of subjects) await closedLoop(() => s.ws.call(SMALL), { inflight: 16, durationMs: ctx.quick ? 300 : 1000, maxCalls: 500_000 });
      const res = new Map<string, LoadResult[]>();
      for (let r = 0; r < runs; r++) {
        for (const inflight of [1, 64]) {
          for (let j = 0; j < subjects.length; j++) {
            const s = subjects[(r + j) % subjects.length];
            const lr = await closedLoop(() => s.ws.call(SMALL), { inflight, durationMs, warmupMs: 100, maxCalls: 2_000_000, pids: s.pids });
            res.set(`${inflight}\0${s.name}`, [...(res.get(`${inflight}\0${s.name}`) ?? []), lr]);
          }
        }
        ctx.log(`ws: run ${r + 1}/${runs}`);
      }
      const rows: Row[] = [];
      const ratioOf = (inflight: number) => {
        const a = res.get(`${inflight}\0${subjects[0].name}`)!;
        const b = res.get(`${inflight}\0${subjects[1].name}`)!;
        return summarize(a.map((x, i) => x.callsPerSec / b[i].callsPerSec));
      };
      for (const inflight of [1, 64]) {
        for (const s of subjects) {
          const rs = res.get(`${inflight}\0${s.name}`)!;
          rows.push({
            case: `${inflight} in flight`,
            subject: s.name,
            metrics: [
              { label: "calls/s", summary: summarize(rs.map((x) => x.callsPerSec)) },
              { label: "p50 µs", summary: summarize(rs.map((x) => x.p50Us)) },
              { label: "p99 µs", summary: summarize(rs.map((x) => x.p99Us)) },
              { label: "CPU µs/call (all)", summary: summarize(rs.map((x) => x.cpuUsPerCall)) },
              { label: "CPU µs/call (hop)", summary: summarize(rs.map((x) => x.cpuByRole.daemon ?? x.cpuByRole.server)) },
              { label: "cores busy", summary: summarize(rs.map((x) => (x.callsPerSec * x.cpuUsPerCall) / 1e6)), digits: 2 },
              { label: "errors", summary: summarize(rs.map((x) => x.errors)) },
            ],
            vs: s === subjects[0] ? `calls/s ${ratioOf(inflight).median.toFixed(2)}x bare` : undefined,
          });
        }
      }
      const r64 = ratioOf(64);
      let profWs: WsCaller | undefined;
      const profiles = ctx.profile
        ? await profileDaemon(
            "WebSocket CALL, 64 in flight",
            ctx.log,
            async (nodeArgs) => {
              const g = await bootGateway({}, nodeArgs);
              if ("unavailable" in g) return undefined;
              profWs = await openWs(`ws://${g.host}:${g.port}/ws/plugins`, { authorization: `Bearer ${g.key}` }, true, "echo.echo");
              return {
                pid: g.daemon.pid,
                stop: async () => {
                  profWs?.close();
                  await g.daemon.stop();
                },
              };
            },
            () => closedLoop(() => profWs!.call(SMALL), { inflight: 64, durationMs: 3000, maxCalls: 2_000_000 }),
          )
        : undefined;
      return {
        available: true,
        profiles,
        rows,
        targets: [
          {
            target: "64 in flight: at least 1.5x the bare ws forwarding server",
            met: r64.median >= 1.5,
            detail: `${r64.median.toFixed(2)}x (runs ${r64.min.toFixed(2)}–${r64.max.toFixed(2)})${r64.median >= 1.5 ? "" : `; gap ${((1.5 / r64.median - 1) * 100).toFixed(0)}% more calls/s needed`}`,
          },
        ],
        notes: [
          `One WebSocket connection per subject, ${JSON.stringify(SMALL).length} B params, CALL/result messages of the same shape on both; ${runs} runs of ${durationMs} ms, interleaved.`,
          "CPU µs/call (all): the client (this process) plus the daemon, echo and apikeys plugins, or the bare server and its child; (hop): the daemon or the bare server alone.",
        ],
      };
    } finally {
      for (const c of callers) c.close();
      await bare.close();
      await gw.daemon.stop();
    }
  },
};
