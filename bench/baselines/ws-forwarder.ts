/**
 * The WebSocket baseline: a bare ws server that forwards each {"id", "method", "params"} message
 * to a child over vscode-jsonrpc stdio and answers {"type": "result", "id", "payload"}, the
 * shape bkg's /ws/plugins CALL answers with. Prints "listening <port>" once bound to 127.0.0.1.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { WebSocketServer, type RawData, type WebSocket } from "ws";

const child = spawn(process.execPath, [fileURLToPath(new URL("./echo-child.js", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
rpc.listen();
child.on("exit", () => process.exit(1));

const wss: WebSocketServer = new WebSocketServer({ host: "127.0.0.1", port: 0 }, () => {
  process.stdout.write(`listening ${(wss.address() as { port: number }).port}\n`);
});
wss.on("connection", (ws: WebSocket) => {
  ws.on("message", async (data: RawData) => {
    const m = JSON.parse(data.toString()) as { id: number; params?: unknown };
    try {
      ws.send(JSON.stringify({ type: "result", id: m.id, payload: await rpc.sendRequest("echo", m.params ?? {}) }));
    } catch (e) {
      ws.send(JSON.stringify({ type: "error", id: m.id, error: { message: (e as Error).message } }));
    }
  });
});
process.on("SIGTERM", () => {
  child.kill("SIGKILL");
  process.exit(0);
});
