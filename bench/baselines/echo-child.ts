/**
 * The baseline echo child: vscode-jsonrpc over stdio, written as plainly as the library allows.
 * Every request is answered with its params. Exits when stdin closes.
 * Used by LIMIT-A (parent -> this child), LIMIT-C (relay -> this child), the HTTP and WS
 * forwarding baselines, and the bare respawn supervisor.
 */
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
connection.onRequest((_method: string, params: unknown) => params);
connection.onClose(() => process.exit(0));
process.stdin.on("end", () => process.exit(0));
connection.listen();
