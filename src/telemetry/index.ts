export { Telemetry, type TelemetrySettings, type TelemetryDeps, type ClusterNode, type StatsReport, type PluginLister } from "./telemetry.js";
export { CallRecorder, MethodStats, Window } from "./recorder.js";
export { bucketOf, bucketRange, quantile, percentiles, BUCKETS, type SparseHistogram } from "./histogram.js";
export type { LiveSnapshot, LivePlugin, LiveInstance, LiveMethod } from "./live-view.js";
export type { MethodSummary, InstanceSummaryRow } from "./stats-summary.js";
export { ProcessStats } from "./process-stats.js";
export { TokenUsage, type TokenUsageRow } from "./token-usage.js";
export { buildSeries, type PluginSeries, type SeriesPoint } from "./series.js";
