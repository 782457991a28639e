/**
 * auth.login under load, with the real apikeys plugin process: the bound on password hashing
 * answers at once when it is full, and the throttle's answers reach the caller as -33002 with
 * data.retryAfterSeconds.
 */
import t, { type Test } from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ErrorCodes } from "@bkg/protocol";
import { CancellationTokenSource } from "vscode-jsonrpc/node";
import { Plugin } from "../helpers/apikeys-plugin.js";

async function start(t: Test, config: Record<string, unknown>): Promise<Plugin> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "bkg-apikeys-login-"));
  const { plugin } = await Plugin.start(dataDir, config);
  t.teardown(async () => {
    if (plugin.child.exitCode === null) plugin.child.kill("SIGKILL");
    await plugin.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  return plugin;
}

t.test("bug: logins queued for tens of seconds behind bcrypt; with the hash queue full a login is refused at once", async (t) => {
  // One thread and two waiting places: of ten logins at once, three are hashed and seven refused.
  const p = await start(t, { bcryptRounds: 12, hashThreads: 1, hashQueue: 2 });
  const order: string[] = [];
  const attempts = Array.from({ length: 10 }, (_, i) =>
    // Distinct usernames and callers, so the throttle's limits in flight play no part.
    p.call("auth.login", { username: `nobody${i}`, password: "wrong password" }, `client:${i}`).then(
      () => ({ code: 0, data: undefined as any }),
      (e: any) => {
        order.push(e.code === ErrorCodes.Overloaded ? "busy" : "checked");
        return { code: e.code as number, data: e.data, message: e.message as string };
      },
    ),
  );
  const answers = await Promise.all(attempts);
  const busy = answers.filter((a) => a.code === ErrorCodes.Overloaded);
  t.equal(answers.filter((a) => a.code === ErrorCodes.Unauthenticated).length, 3, "one running and two queued are checked");
  t.equal(busy.length, 7, "the other seven are refused");
  t.same(order.slice(0, 7), Array(7).fill("busy"), "every refusal is answered before the first checked login: none waits for bcrypt");
  for (const b of busy) {
    t.match(b, { data: { reason: "login_busy", retryAfterSeconds: Number }, message: /too many login attempts in progress .*; retry after \d+ s/ });
    t.ok(b.data.retryAfterSeconds >= 1, "retry after a second at least");
  }
  const { entries } = await p.call("auth.audit", { action: "auth.login", limit: 100 });
  t.equal(entries.filter((e: any) => e.detail?.reason === "login_busy").length, 7, "each refusal is audited");
});

t.test("bug: a cancelled login kept its place in the hash queue; now the place is free at once", async (t) => {
  // One thread, one waiting place, and a cost high enough that A is still being hashed below.
  const p = await start(t, { bcryptRounds: 13, hashThreads: 1, hashQueue: 1 });
  const fail = (x: Promise<unknown>) =>
    x.then(
      () => ({ code: 0 }),
      (e: any) => ({ code: e.code as number, data: e.data }),
    );
  const login = (i: number, cancel?: CancellationTokenSource) => {
    const params = { username: `nobody${i}`, password: "wrong password", _meta: { deadline: Date.now() + 60_000, caller: `client:${i}` } };
    return fail(cancel ? p.conn.sendRequest("auth.login", params, cancel.token) : p.conn.sendRequest("auth.login", params));
  };
  const answered: string[] = [];
  const a = login(0).then((r) => (answered.push("A"), r));
  const cancel = new CancellationTokenSource();
  const b = login(1, cancel).then((r) => (answered.push("B"), r));
  t.match(await login(2), { code: ErrorCodes.Overloaded, data: { reason: "login_busy" } }, "control: with A running and B waiting, the pool is full");
  cancel.cancel();
  t.equal((await b).code, ErrorCodes.RequestCancelled, "B is cancelled");
  t.same(answered, ["B"], "B leaves the queue at once: it is answered while A is still being hashed, not after its own hash");
  const c = await login(3);
  t.equal(c.code, ErrorCodes.Unauthenticated, "C takes B's place instead of being refused");
  t.equal((await a).code, ErrorCodes.Unauthenticated, "A is answered");
});

t.test("a throttled login says so with -33002 and when to retry; the caller stands in for a missing source", async (t) => {
  const p = await start(t, { bcryptRounds: 4, loginThrottle: { backoffAfter: 2, backoffBaseSeconds: 60, lockoutAfter: 3, lockoutSeconds: 600 } });
  const login = (password: string, caller = "client:1", source?: string) =>
    p.call("auth.login", { username: "someone", password, ...(source ? { source } : {}) }, caller).then(
      () => ({ code: 0 }) as any,
      (e: any) => ({ code: e.code, data: e.data, message: e.message }),
    );
  t.equal((await login("wrong 1")).code, ErrorCodes.Unauthenticated);
  t.equal((await login("wrong 2")).code, ErrorCodes.Unauthenticated);
  const r = await login("wrong 3");
  t.match(r, { code: ErrorCodes.Overloaded, data: { reason: "login_throttled", scope: "pair" } });
  t.ok(r.data.retryAfterSeconds > 0 && r.data.retryAfterSeconds <= 60);
  t.equal((await login("wrong 3", "client:2")).code, ErrorCodes.Unauthenticated, "another caller is another source");
  t.equal((await login("wrong 3", "client:1", "10.0.0.9")).code, ErrorCodes.Unauthenticated, "an explicit source wins over the caller");
});
