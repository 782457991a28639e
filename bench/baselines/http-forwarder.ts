/**
 * The HTTP baseline: a bare node:http server that forwards each POST body to a child over
 * vscode-jsonrpc stdio and answers {"result": ...}, the shape bkg's /api/call answers with.
 * No routing, auth, validation or logging. Prints "listening <port>" once bound to 127.0.0.1.
 * argv "self": answer the body itself, with no child at all (node:http's own ceiling).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

const self = process.argv[2] === "self";
const child = spawn(process.execPath, [fileURLToPath(new URL("./echo-child.js", import.meta.url))], { stdio: ["pipe", "pipe", "inherit"] });
const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
rpc.listen();
child.on("exit", () => process.exit(1));

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    try {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
      const result = self ? body : await rpc.sendRequest("echo", body);
      const out = JSON.stringify({ result });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
    } catch (e) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: (e as Error).message } }));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
process.on("SIGTERM", () => {
  child.kill("SIGKILL");
  process.exit(0);
});
