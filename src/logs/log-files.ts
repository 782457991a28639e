/**
 * Log files per plugin in <dataDir>/logs/plugins/<name>.log, with size rotation: when a file
 * would pass maxBytes it becomes <name>.log.1 (.1 becomes .2, ...) and a new file starts; at most
 * `files` files per plugin are kept, the current one included. Lines are buffered and written
 * in one append per plugin (a RotatingLogStream each: every 200 ms and at close), so logging costs no syscall per line;
 * a daemon killed with SIGKILL loses at most that much of the plugins' logs.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BusEvent, EventBus } from "../events/index.js";
import type { LogFileSettings } from "./rotating-file.js";
import { RotatingLogStream } from "./rotating-log-stream.js";

export type { LogFileSettings };

export class PluginLogFiles {
  readonly dir: string;
  private readonly files = new Map<string, RotatingLogStream>();

  /** @param onError told once per file when it cannot be written (disk full, permissions). */
  constructor(
    dataDir: string,
    private readonly settings: LogFileSettings,
    private readonly onError: (message: string) => void = () => undefined,
  ) {
    this.dir = join(dataDir, "logs", "plugins");
  }

  /** Writes each plugin's log lines and lifecycle notes; returns the unsubscribe function. */
  attach(bus: EventBus): () => void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Another node's events (e.node) go to that node's files.
    return bus.subscribe({ topics: ["log", "lifecycle"], internal: true }, (e) => e.node === undefined && this.add(e));
  }

  /** The current file of a plugin. */
  pathOf(plugin: string): string {
    return join(this.dir, `${plugin}.log`);
  }

  add(e: BusEvent): void {
    if (e.kind !== "log" && e.kind !== "lifecycle") return;
    if (!e.plugin) return;
    let f = this.files.get(e.plugin);
    if (!f) this.files.set(e.plugin, (f = new RotatingLogStream(this.pathOf(e.plugin), this.settings, { onError: this.onError })));
    f.write(formatLine(e));
  }

  flush(): void {
    for (const f of this.files.values()) f.flushSync();
  }

  close(): void {
    for (const f of this.files.values()) f.end();
    this.files.clear();
  }
}

/** One line: time, level, instance (or plugin), the stream's prefix, the message, then any fields as JSON. */
export function formatLine(e: BusEvent): string {
  const t = new Date(e.ts).toISOString();
  if (e.kind === "lifecycle") return `${t} INFO  ${e.instance ?? e.plugin} [lifecycle] ${e.state}${e.reason ? `: ${e.reason}` : ""}\n`;
  if (e.kind !== "log") return "";
  const fields = e.fields && Object.keys(e.fields).length ? ` ${safeJson(e.fields)}` : "";
  const msg = e.msg.replace(/\r?\n/g, "\\n");
  return `${t} ${e.level.toUpperCase().padEnd(5)} ${e.instance ?? e.plugin} ${e.stream === "stderr" ? "stderr: " : e.stream === "daemon" ? "[bkg] " : ""}${msg}${fields}\n`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return '"[unserializable fields]"';
  }
}
