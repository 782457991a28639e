/**
 * The start-up floor: a fresh Node process spawns N plain vscode-jsonrpc echo children and
 * waits until each has answered one request, then prints "ready" and waits to be killed.
 * argv: <N>. Exits (killing its children) when stdin closes or on SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

const n = Number(process.argv[2] ?? 1);
const childFile = fileURLToPath(new URL("./echo-child.js", import.meta.url));
const children: ChildProcess[] = [];
const stop = () => {
  for (const c of children) c.kill("SIGKILL");
  process.exit(0);
};
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();

await Promise.all(
  Array.from({ length: n }, () => {
    const child = spawn(process.execPath, [childFile], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    const c = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    c.listen();
    return c.sendRequest("echo", {});
  }),
);
process.stdout.write("ready\n");
