/**
 * One wording for a call whose deadline passed, whichever surface it came through (CLI, HTTP,
 * WebSocket, socket, gRPC, bkg/call) and whichever side noticed first: the router's timer, the
 * plugin stopping at `_meta.deadline`, or a node that got a forwarded call too late.
 */
export function deadlineMessage(target: string, budgetMs: number, where = ""): string {
  const ms = Math.max(0, Math.round(budgetMs));
  return (
    `${target} did not answer within its deadline of ${ms} ms${where}, so it was asked to stop; ` +
    `if it is only slow, give the call more time (bkg call --timeout, ?timeoutMs= over HTTP, the gRPC deadline) or raise timeouts.call in its manifest`
  );
}
