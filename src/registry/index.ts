export type { BuildStep, EnvReference, Manifest, ManifestFile, InvalidManifest, ManifestResult } from "./manifest.js";
export { parseManifest } from "./parse-manifest.js";
export { redactManifest, redactSecrets, REDACTED } from "./redact-manifest.js";
export { checkRequires, startOrder, type Readiness } from "./dependency-order.js";
export { ManifestWatcher, type ManifestWatcherEvents } from "./manifest-watcher.js";
