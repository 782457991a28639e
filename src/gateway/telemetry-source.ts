/**
 * Where the control surface gets telemetry (GET /api/plugins/:name/telemetry, the WebSocket
 * bootstrap and `telemetry` topic). The telemetry engine (src/telemetry) can provide its own
 * implementation; until it is wired, `basicTelemetry` answers from the supervisor's live view and
 * the metrics' call totals.
 */
import type { Supervisor } from "../supervisor/index.js";
import type { Metrics, MethodTotals } from "./metrics.js";

export interface TelemetrySource {
  /** Current numbers for one plugin; undefined when no plugin has that name. */
  plugin(name: string): Promise<unknown | undefined>;
  /** Current numbers for every plugin. */
  all(): Promise<unknown>;
}

export interface BasicPluginTelemetry {
  plugin: string;
  state: string;
  at: number;
  instances: { id: string; pid?: number; state: string; inflight: number; calls: number; uptimeMs: number }[];
  restarts: number;
  queued: number;
  /** Since the daemon started, per method. */
  methods: Omit<MethodTotals, "plugin">[];
}

export function basicTelemetry(supervisor: Supervisor, metrics: Metrics): TelemetrySource {
  const build = async (only?: string): Promise<BasicPluginTelemetry[]> => {
    const totals = await metrics.totals(only);
    const at = Date.now();
    return supervisor
      .list()
      .filter((p) => !only || p.name === only)
      .map((p) => ({
        plugin: p.name,
        state: p.state,
        at,
        instances: p.instances.map((i) => ({ id: i.id, pid: i.pid, state: i.state, inflight: i.inflight, calls: i.calls, uptimeMs: i.uptimeMs })),
        restarts: p.restarts,
        queued: p.queued,
        methods: totals.filter((t) => t.plugin === p.name).map(({ plugin: _p, ...rest }) => rest),
      }));
  };
  return {
    plugin: async (name) => (await build(name))[0],
    all: async () => ({ plugins: await build() }),
  };
}
