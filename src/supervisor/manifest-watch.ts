/**
 * Keeps one file watcher on a manifest's `watch` globs, replaced when the globs or cwd change,
 * so a save hot-swaps the plugin (PluginHost decides what a change does).
 */
import type { Manifest } from "../registry/index.js";
import { PluginFileWatcher } from "./watch-files.js";

export class ManifestWatch {
  private files?: { key: string; watcher: PluginFileWatcher };

  constructor(
    private readonly onChange: (files: string[]) => void,
    private readonly onError: (message: string) => void,
  ) {}

  /** Watches `m`'s globs (none: no watcher). A no-op when they did not change. */
  sync(m: Manifest): void {
    const key = m.watch.length ? `${m.cwd}\0${m.watch.join("\0")}` : "";
    if (this.files?.key === key) return;
    void this.close();
    if (!key) return;
    const watcher = new PluginFileWatcher(m.cwd, m.watch, this.onChange);
    this.files = { key, watcher };
    watcher.start().catch((e) => this.onError(`cannot watch ${m.watch.join(", ")}: ${(e as Error).message}`));
  }

  /** Stops watching. Idempotent. */
  async close(): Promise<void> {
    const f = this.files;
    this.files = undefined;
    await f?.watcher.close();
  }
}
