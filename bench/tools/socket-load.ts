/**
 * bkg socket calls at N in flight, a few runs against one daemon and echo plugin (as the socket
 * scenario boots them): calls/s, CPU µs per call by process, cores busy and p50 per run. For A/B
 * runs of a scratch build, one run per build and setting, interleaved by the caller:
 *
 *   node bench/dist/tools/socket-load.js [--runs 4] [--inflight 64] [--seconds 2] [--daemon-flags --trace-gc,--cpu-prof]
 *
 * --daemon-flags: node flags for the daemon, comma-separated; --keep-log FILE copies the daemon's
 * log there before it stops (with --trace-gc: its collections).
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { argValue as opt } from "../lib/argv.js";
import { bootDaemon, echoManifest } from "../lib/daemon.js";
import { closedLoop } from "../lib/load.js";
import { SMALL } from "../lib/payloads.js";
import { cleanupAll } from "../lib/procs.js";

const RUNS = Number(opt("--runs") ?? 4);
const INFLIGHT = Number(opt("--inflight") ?? 64);
const SECONDS = Number(opt("--seconds") ?? 2);
const DAEMON_FLAGS = opt("--daemon-flags")?.split(",") ?? [];
const KEEP_LOG = opt("--keep-log");

async function main(): Promise<void> {
  const daemon = await bootDaemon({ manifests: { echo: echoManifest() }, nodeArgs: DAEMON_FLAGS });
  try {
    await daemon.waitReady(["echo"]);
    const [pluginPid] = await daemon.pluginPids("echo");
    const call = () => daemon.client.call("echo.echo", SMALL as Record<string, unknown>);
    await closedLoop(call, { inflight: INFLIGHT, durationMs: 1500, maxCalls: 2_000_000 });
    for (let i = 0; i < RUNS; i++) {
      const r = await closedLoop(call, { inflight: INFLIGHT, durationMs: SECONDS * 1000, warmupMs: 100, maxCalls: 2_000_000, pids: { daemon: daemon.pid, plugin: pluginPid } });
      const by = r.cpuByRole;
      console.log(
        `calls/s ${r.callsPerSec.toFixed(0)} cpu µs/call ${r.cpuUsPerCall.toFixed(1)} (client ${by.client?.toFixed(1)} daemon ${by.daemon?.toFixed(1)} plugin ${by.plugin?.toFixed(1)}) cores ${((r.callsPerSec * r.cpuUsPerCall) / 1e6).toFixed(2)} p50 ${r.p50Us.toFixed(0)} µs`,
      );
    }
  } finally {
    if (KEEP_LOG) copyFileSync(join(daemon.dir, "daemon.log"), KEEP_LOG);
    await daemon.stop();
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
