import type { Command } from "commander";
import { printClusterStatus } from "./cluster-status.js";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { duration, printJson, printTable } from "./output.js";
import { reasonText } from "./plugin-view.js";

export function registerStatusCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("status")
    .description("the daemon's version, uptime, socket and plugins")
    .option("--json", "print JSON")
    .option("--cluster", "every daemon sharing this store (PostgreSQL), with its plugins and when it was last seen")
    .action((o: { json?: boolean; cluster?: boolean }) =>
      withClient(globals(), async (c) => {
        if (o.cluster) return printClusterStatus(c, o.json);
        const [s, plugins] = await Promise.all([c.status(), c.plugins.list()]);
        if (o.json) return printJson({ ...s, pluginList: plugins });
        process.stdout.write(
          `bkg ${s.version}, pid ${s.pid}, up ${duration(s.uptimeMs)}, ${Math.round(s.rssBytes / 1048576)} MiB\n` +
            `socket     ${s.socketPath}\n` +
            (s.http ? `http       ${s.http.url} (WebSocket ${s.http.ws})\n` : "") +
            (s.grpc ? `grpc       ${s.grpc.address}\n` : "") +
            `manifests  ${s.manifestsDir}\ndata       ${s.dataDir}\n\n`,
        );
        printTable(
          ["PLUGIN", "STATE", "VERSION", "INSTANCES", "RESTARTS", "REASON"],
          plugins.map((p) => [p.name, p.state, p.version ?? "-", p.instances.length, p.restarts, reasonText(p)]),
          90,
        );
      }),
    );
}
