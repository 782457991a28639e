/**
 * The app pm2 supervises in the crash-recovery and footprint scenarios: a Node script that
 * serves echo over a unix socket with plain vscode-jsonrpc ("pid" answers its pid).
 * argv: <socket path>. Removes a stale socket file first (its predecessor was SIGKILLed).
 */
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

const socketPath = process.argv[2];
rmSync(socketPath, { force: true });
const server = createServer((socket) => {
  const c = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
  c.onRequest((method: string, params: unknown) => (method === "pid" ? { pid: process.pid } : params));
  c.onClose(() => socket.destroy());
  socket.on("error", () => socket.destroy());
  c.listen();
});
server.listen(socketPath);
