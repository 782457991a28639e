/**
 * bkg/ping on an interval per instance. A ping unanswered within health.timeoutMs is a miss;
 * the first miss reports the instance unresponsive, health.misses in a row kill it (its calls
 * then fail with -33004 naming the hang) and the restart policy takes over.
 */
import type { PluginInstance } from "./plugin-instance.js";

interface Watched {
  timer: NodeJS.Timeout;
  misses: number;
  busy: boolean;
}

export class HealthMonitor {
  private watched = new Map<PluginInstance, Watched>();

  constructor(
    readonly _owner: { name: string },
    private readonly onUnresponsive: (inst: PluginInstance, reason: string) => void,
  ) {}

  /** Starts pinging; a no-op when health.intervalMs is 0 or the instance is already watched. */
  watch(inst: PluginInstance): void {
    const { intervalMs } = inst.manifest.health;
    if (intervalMs <= 0 || this.watched.has(inst)) return;
    const w: Watched = { misses: 0, busy: false, timer: setInterval(() => void this.probe(inst, w), intervalMs) };
    w.timer.unref();
    this.watched.set(inst, w);
  }

  unwatch(inst: PluginInstance): void {
    const w = this.watched.get(inst);
    if (!w) return;
    clearInterval(w.timer);
    this.watched.delete(inst);
  }

  private async probe(inst: PluginInstance, w: Watched): Promise<void> {
    if (w.busy || inst.exited || inst.state === "stopping") return;
    w.busy = true;
    const { timeoutMs, misses } = inst.manifest.health;
    try {
      await inst.ping(timeoutMs);
      w.misses = 0;
    } catch {
      if (inst.exited || !this.watched.has(inst)) return;
      w.misses++;
      if (w.misses === 1) this.onUnresponsive(inst, `${inst.id} did not answer bkg/ping within ${timeoutMs} ms`);
      if (w.misses >= misses) {
        this.unwatch(inst);
        inst.kill(`hung: ${w.misses} pings in a row unanswered within ${timeoutMs} ms`);
      }
    } finally {
      w.busy = false;
    }
  }
}
