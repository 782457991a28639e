/**
 * LIMIT-C: the plainest relay, client -> unix socket -> this process -> stdio child, with
 * vscode-jsonrpc on both sides and nothing else (no deadlines, validation or bookkeeping).
 * argv: <socket path>. Prints "ready" on stdout once listening.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

const socketPath = process.argv[2];
const childFile = fileURLToPath(new URL("./echo-child.js", import.meta.url));
const child = spawn(process.execPath, [childFile], { stdio: ["pipe", "pipe", "inherit"] });
const toChild = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
toChild.listen();
child.on("exit", () => process.exit(1));

const server = createServer((socket) => {
  const client = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
  client.onRequest((method: string, params: unknown) => toChild.sendRequest(method, params));
  client.onClose(() => socket.destroy());
  socket.on("error", () => socket.destroy());
  client.listen();
});
server.listen(socketPath, () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => {
  child.kill("SIGKILL");
  process.exit(0);
});
