export { LogRing } from "./log-ring.js";
export { PluginLogFiles, formatLine, type LogFileSettings } from "./log-files.js";
export { createLogger, type Logger } from "./logger.js";
export { RotatingLogStream } from "./rotating-log-stream.js";
export { RotatingFile } from "./rotating-file.js";
export { DaemonLogGate, type Dropped, type LineBudgetSettings } from "./line-budget.js";
