/** CancelToken: the per-call cancellation of bkg's hot paths, and RpcPeer's use of it. */
import { PassThrough } from "node:stream";
import t from "tap";
import { CancelToken, RpcPeer, whenAborted } from "@bkg/protocol";

t.test("abort runs the callbacks once, in order, with the reason", async (t) => {
  const c = new CancelToken();
  const seen: string[] = [];
  c.onAbort((r) => seen.push(`a:${r}`));
  c.onAbort((r) => seen.push(`b:${r}`));
  const removed = (r: unknown) => seen.push(`c:${r}`);
  c.onAbort(removed);
  c.off(removed);
  t.equal(c.aborted, false);
  c.abort("why");
  c.abort("again");
  t.same(seen, ["a:why", "b:why"]);
  t.equal(c.aborted, true);
  t.equal(c.reason, "why");
  c.onAbort(() => seen.push("late"));
  t.same(seen, ["a:why", "b:why"], "a callback added after the abort is not run");
});

t.test("off during abort does not skip the other callbacks", async (t) => {
  const c = new CancelToken();
  const seen: number[] = [];
  const first = () => {
    seen.push(1);
    c.off(second);
  };
  const second = () => seen.push(2);
  c.onAbort(first);
  c.onAbort(second);
  c.abort();
  t.same(seen, [1, 2]);
  t.type(c.reason, DOMException, "the default reason is an AbortError, as AbortController's");
});

t.test("signal is made on demand and follows the token", async (t) => {
  const c = new CancelToken();
  const s = c.signal;
  t.equal(c.signal, s, "one signal per token");
  t.equal(s.aborted, false);
  let heard: unknown;
  s.addEventListener("abort", () => (heard = s.reason));
  c.abort("deadline");
  t.equal(heard, "deadline");
  const late = new CancelToken();
  late.abort("early");
  t.equal(late.signal.aborted, true, "a signal asked for after the abort is already aborted");
  t.equal(late.signal.reason, "early");
});

t.test("fromSignal and whenAborted bridge to AbortSignal", async (t) => {
  const ac = new AbortController();
  const c = CancelToken.fromSignal(ac.signal);
  ac.abort("stop");
  t.equal(c.aborted, true);
  t.equal(c.reason, "stop");
  t.equal(CancelToken.fromSignal(AbortSignal.abort("done")).reason, "done");

  const seen: unknown[] = [];
  const ac2 = new AbortController();
  const off = whenAborted(ac2.signal, (r) => seen.push(r));
  off();
  ac2.abort("x");
  const tok = new CancelToken();
  whenAborted(tok, (r) => seen.push(r));
  tok.abort("y");
  t.same(seen, ["y"], "removed callbacks stay quiet; token callbacks run");
});

function pair() {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return { a: new RpcPeer(bToA, aToB).listen(), b: new RpcPeer(aToB, bToA) };
}

t.test("RpcPeer: a token cancels a request; the handler sees it on ctx.token and ctx.signal", async (t) => {
  const { a, b } = pair();
  const observed: string[] = [];
  b.onRequest(
    "slow",
    (_p, ctx) =>
      new Promise((resolve) => {
        ctx.token.onAbort(() => observed.push("token"));
        ctx.signal.addEventListener("abort", () => {
          observed.push("signal");
          resolve("stopped");
        });
      }),
  );
  b.listen();
  const cancel = new CancelToken();
  const answer = a.request("slow", {}, cancel);
  await new Promise((r) => setTimeout(r, 20));
  cancel.abort();
  t.equal(await answer, "stopped", "the request keeps waiting for the other side's answer");
  t.same(observed.sort(), ["signal", "token"]);

  const again = new AbortController();
  const second = a.request("slow", {}, again.signal);
  await new Promise((r) => setTimeout(r, 20));
  again.abort();
  t.equal(await second, "stopped", "an AbortSignal works the same way");
  a.dispose();
  b.dispose();
});

t.test("RpcPeer: closing aborts the handlers' tokens", async (t) => {
  const { a, b } = pair();
  let reason: unknown = "not aborted";
  const handled = new Promise<void>((done) => {
    b.onRequest(
      "wait",
      (_p, ctx) =>
        new Promise(() =>
          ctx.token.onAbort((r) => {
            reason = r;
            done();
          }),
        ),
    );
  });
  b.listen();
  void a.request("wait", {}).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 20));
  b.dispose();
  await handled;
  t.type(reason, DOMException);
  a.dispose();
});
