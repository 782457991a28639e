/**
 * Watches the files a manifest's `watch` globs match (relative to its cwd) and reports a
 * debounced change, so a save in an editor becomes one hot swap. Only the globs' static base
 * folders are watched, and node_modules/.git never are.
 */
import { relative, resolve } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import picomatch from "picomatch";

const NEVER = /(^|[\\/])(node_modules|\.git|__pycache__|target)([\\/]|$)/;

export class PluginFileWatcher {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private changed = new Set<string>();

  constructor(
    private readonly cwd: string,
    private readonly globs: string[],
    private readonly onChange: (files: string[]) => void,
    private readonly debounceMs = 150,
  ) {}

  /** Starts watching; resolves when the initial scan is done. A no-op without globs. Idempotent. */
  async start(): Promise<void> {
    if (this.watcher || this.globs.length === 0) return;
    const matches = picomatch(this.globs, { dot: false });
    const bases = [...new Set(this.globs.map((g) => resolve(this.cwd, picomatch.scan(g).base || ".")))];
    const watcher = watch(bases, {
      ignoreInitial: true,
      ignored: (path) => NEVER.test(relative(this.cwd, path)),
    });
    this.watcher = watcher;
    const onEvent = (path: string) => {
      const rel = relative(this.cwd, path);
      if (!matches(rel)) return;
      this.changed.add(rel);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        const files = [...this.changed];
        this.changed.clear();
        this.onChange(files);
      }, this.debounceMs);
    };
    watcher.on("add", onEvent).on("change", onEvent).on("unlink", onEvent);
    await new Promise<void>((r) => watcher.once("ready", () => r()));
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
