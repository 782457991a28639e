/**
 * Issue 20 item 3: a plugin's bkg/call inherits the deadline, cancellation and trace of the call
 * it is made for (protocol §4.1, `parent`). A chain a -> b -> c of echo plugins: a.relay asks
 * b.relay, which asks c.sleep; c logs "sleep observed cancellation" when its sleep is cancelled.
 */
import { createConnection } from "node:net";
import t from "tap";
import { ErrorCodes } from "@bkg/protocol";
import { echoManifest, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

const chain = (ms: number, innerTimeoutMs?: number) => ({
  method: "b.relay",
  params: { method: "c.sleep", params: { ms }, ...(innerTimeoutMs ? { timeoutMs: innerTimeoutMs } : {}) },
  ...(innerTimeoutMs ? { timeoutMs: innerTimeoutMs } : {}),
});

/** How often c has logged that its sleep saw a cancellation. */
const cancellations = (d: TestDaemon) =>
  d
    .output()
    .split("\n")
    .filter((l) => l.includes('"plugin":"c"') && l.includes("sleep observed cancellation")).length;

/** Waits until c logs one more cancellation than `from`. */
async function cSawCancellation(d: TestDaemon, from: number, what: string) {
  await d.waitFor(() => cancellations(d) > from, what, 15_000);
}

t.test("bug: nested calls lost the caller's deadline and cancellation", async (t) => {
  const relay = (name: string) => echoManifest(name, { permissions: ["b.*", "c.*"], timeouts: { call: 120_000 } });
  const d = await startTestDaemon({ a: relay("a"), b: relay("b"), c: relay("c") });
  t.teardown(() => d.stop());
  for (const p of ["a", "b", "c"]) await d.waitState(p, "ready");

  t.test("the first call cancelled by its caller: the third plugin sees the cancellation", async (t) => {
    const from = cancellations(d);
    const ac = new AbortController();
    const outer = d.client.call("a.relay", chain(100_000), { signal: ac.signal }).catch((e) => e);
    await d.waitInFlight("c");
    ac.abort();
    t.match(await outer, { code: ErrorCodes.RequestCancelled }, "the outer call answers -32800");
    await cSawCancellation(d, from, "c's sleep to be cancelled");
    t.pass("c.sleep was cancelled, two hops down");
    await d.waitFor(async () => (await d.client.plugins.info("c")).instances.every((i) => i.inflight === 0), "c to be idle");
  });

  t.test("the caller goes away (its connection closes): the chain is cancelled", async (t) => {
    const from = cancellations(d);
    const s = createConnection(d.socketPath);
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "a.relay", params: chain(100_000) });
    s.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await d.waitInFlight("c");
    s.destroy();
    await cSawCancellation(d, from, "c's sleep to be cancelled after the client left");
    t.pass("c.sleep was cancelled when the first caller disconnected");
  });

  t.test("the outer deadline bounds an inner call that asks for more time", async (t) => {
    const from = cancellations(d);
    // a asks b with timeoutMs 100 s, b asks c with 100 s; the outer call has 1.5 s.
    const outer = await d.client.call("a.relay", chain(100_000, 100_000), { timeoutMs: 1500 }).catch((e) => e);
    t.equal(outer.code, ErrorCodes.DeadlineExceeded, "the outer call answers -33001");
    await cSawCancellation(d, from, "c's sleep to end at the outer deadline");
    t.pass("c.sleep ended at the outer deadline, not after its own 100 s");
  });

  t.test("an inner timeout shorter than the outer deadline still wins", async (t) => {
    const r = await d.client.call("a.relay", { method: "b.sleep", params: { ms: 100_000 }, timeoutMs: 300 }, { timeoutMs: 60_000 }).catch((e) => e);
    t.equal(r.code, ErrorCodes.DeadlineExceeded, "the inner call's own 300 ms applies");
  });
});
