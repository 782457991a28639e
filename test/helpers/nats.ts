/**
 * A nats-server for one test file, on a free loopback port. stop() ends it; restart() starts it
 * again on the same port (for "NATS went away and came back"). Fails with the reason when
 * nats-server is not installed (test/setup/ensure-tools.mjs installs Debian's package).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export interface TestNats {
  url: string;
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Everything the server printed. */
  output(): string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startNats(): Promise<TestNats> {
  const which = spawnSync("nats-server", ["--version"], { encoding: "utf8" });
  if (which.status !== 0) throw new Error(`nats-server is not installed (apt-get install -y nats-server; npm test's setup does it): ${which.error?.message ?? which.stderr}`);
  const port = await freePort();
  let out = "";
  let proc: ChildProcess | undefined;
  const launch = async () => {
    proc = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "--no_advertise"], { stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    const until = Date.now() + 10_000;
    while (!out.includes("Server is ready")) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}:\n${out}`);
      if (Date.now() > until) throw new Error(`nats-server was not ready within 10 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await exited;
    out = "";
  };
  await launch();
  return { url: `nats://127.0.0.1:${port}`, port, stop, restart: launch, output: () => out };
}
