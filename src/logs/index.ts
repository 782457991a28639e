export { LogRing } from "./log-ring.js";
export { createLogger, type Logger } from "./logger.js";
