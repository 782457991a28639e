import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { watch, type FSWatcher } from "chokidar";

export interface ManifestWatcherEvents {
  /** A manifest file appeared or changed: its current text. */
  upsert(file: string, text: string): void;
  remove(file: string): void;
}

/**
 * Watches the manifests folder for *.json files. Reports each file once at start, then every
 * add, change and unlink, debounced per file so an editor's save-in-three-writes is one event.
 */
export class ManifestWatcher {
  private watcher?: FSWatcher;
  private timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly dir: string,
    private readonly on: ManifestWatcherEvents,
    private readonly debounceMs = 50,
  ) {}

  /** Resolves once the initial scan has been reported. Idempotent. */
  async start(): Promise<void> {
    if (this.watcher) return;
    const watcher = watch(this.dir, {
      depth: 0,
      ignoreInitial: false,
      awaitWriteFinish: false,
      ignored: (path, stats) => Boolean(stats?.isFile() && extname(path) !== ".json"),
    });
    this.watcher = watcher;
    const initial: Promise<void>[] = [];
    let ready = false;
    watcher.on("add", (p) => (ready ? this.schedule(p, "upsert") : initial.push(this.read(p))));
    watcher.on("change", (p) => this.schedule(p, "upsert"));
    watcher.on("unlink", (p) => this.schedule(p, "remove"));
    await new Promise<void>((res) => watcher.once("ready", res));
    ready = true;
    await Promise.all(initial);
  }

  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private schedule(path: string, kind: "upsert" | "remove"): void {
    if (extname(path) !== ".json") return;
    const file = resolve(path);
    clearTimeout(this.timers.get(file));
    this.timers.set(
      file,
      setTimeout(() => {
        this.timers.delete(file);
        if (kind === "remove") this.on.remove(file);
        else void this.read(file);
      }, this.debounceMs),
    );
  }

  private async read(path: string): Promise<void> {
    if (extname(path) !== ".json") return;
    const file = resolve(path);
    try {
      this.on.upsert(file, await readFile(file, "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") this.on.remove(file);
      else this.on.upsert(file, `\u0000unreadable: ${(e as Error).message}`);
    }
  }
}
