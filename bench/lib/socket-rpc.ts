/** A plain vscode-jsonrpc client over a unix socket (for baselines that listen on one). */
import { createConnection } from "node:net";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";

/** Connects; rejects at once when nothing listens (ECONNREFUSED/ENOENT). */
export function connectRpc(socketPath: string): Promise<{ connection: MessageConnection; close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => socket.destroy());
      const connection = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
      // vscode-jsonrpc leaves pending requests pending when the stream closes; dispose rejects them,
      // so a connection accepted by a dying server fails at once instead of hanging.
      socket.on("close", () => connection.dispose());
      connection.listen();
      resolve({
        connection,
        close: () => {
          connection.dispose();
          socket.destroy();
        },
      });
    });
  });
}
