/**
 * The composition root: the one place that builds the parts and wires them together.
 * Nothing else imports this file except the CLI.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Router } from "./bus/index.js";
import type { Cluster } from "./cluster/index.js";
import { ensurePrivateDir, type ResolvedConfig } from "./config/index.js";
import { EventBus } from "./events/index.js";
import { SocketServer, startControlSurface, type ControlSurface, type DaemonContext } from "./gateway/index.js";
import { createLogger, PluginLogFiles, type Logger } from "./logs/index.js";
import { ModelService, removeLeftovers } from "./models/index.js";
import { ManifestWatcher } from "./registry/index.js";
import { Supervisor } from "./supervisor/index.js";
import { Telemetry } from "./telemetry/index.js";
import { startOtlpExport, Tracer, type OtlpExport } from "./tracing/index.js";
import { prepareSchemaChecks } from "./validation/schemas.js";
import { VERSION } from "./version.js";

export interface DaemonOptions {
  logger?: Logger;
}

export interface Daemon extends DaemonContext {
  /** Resolves when the daemon has fully stopped. */
  stopped: Promise<void>;
}

/**
 * Starts a daemon: socket first (so a second daemon fails fast), then manifests, then plugins.
 * Resolves once every eager plugin has been started (not necessarily ready).
 */
export async function startDaemon(config: ResolvedConfig, options: DaemonOptions = {}): Promise<Daemon> {
  const loosened = ensurePrivateDir(config.dataDir);
  mkdirSync(config.manifestsDir, { recursive: true });
  const logger = options.logger ?? createLogger(config.logLevel);
  // The model store's folder exists before any plugin reads BKG_MODELS_DIR; pulls a killed
  // daemon (or CLI) left half done are removed now.
  mkdirSync(config.models.dir, { recursive: true, mode: 0o700 });
  const leftovers = removeLeftovers(config.models.dir);
  if (leftovers.length) logger.info({ leftovers }, `removed ${leftovers.length} interrupted model pull(s) from ${config.models.dir}`);
  if (loosened !== undefined) logger.warn({ dataDir: config.dataDir }, `the data folder ${config.dataDir} was mode 0${loosened.toString(8)}; set it to 0700 (it holds the root token and the store)`);
  const bus = new EventBus();
  const startedAt = Date.now();
  // The store first: a database it cannot use (unreachable, newer schema) stops the start here.
  const opened = await Telemetry.open(config, { bus, logger, version: VERSION, startedAt });
  if (!opened.ok) throw new Error(opened.error);
  const telemetry = opened.value;
  const models = new ModelService({
    settings: config.models,
    publish: (e) => bus.publish(e),
    table: { store: telemetry.store, nodeId: telemetry.nodeId },
    warn: (msg) => logger.warn(msg),
    hfToken: process.env.HF_TOKEN || undefined,
  });
  await models.syncTable();
  const logFiles = new PluginLogFiles(config.dataDir, config.logs, (msg) => logger.warn(msg));
  const detachLogFiles = logFiles.attach(bus);
  let router: Router | undefined;
  const supervisor = new Supervisor({
    config,
    bus,
    logger,
    daemonVersion: VERSION,
    clustered: config.cluster !== undefined,
    pluginCall: (caller, params, link) => router!.pluginCall(caller, params, link),
  });
  router = new Router(supervisor, { jsonDepth: config.limits.jsonDepth });
  router.observer = telemetry.recorder;
  // Tracing (docs/tracing.md): a span per routed call, the recent ones in memory; OTLP export only
  // when a collector is configured (OpenTelemetry's modules are loaded only then).
  const tracing = config.telemetry.tracing;
  const tracer = tracing.enabled ? new Tracer(tracing, telemetry.nodeId) : undefined;
  router.tracer = tracer;
  let otlp: OtlpExport | undefined;
  if (tracer && config.telemetry.otlp) {
    otlp = await startOtlpExport(config.telemetry.otlp, { version: VERSION, node: telemetry.nodeId, warn: (msg) => logger.warn(msg) });
    tracer.sink = otlp;
    logger.info({ endpoint: config.telemetry.otlp.endpoint }, `exporting trace spans over OTLP/HTTP to ${config.telemetry.otlp.endpoint}`);
  }
  // Cluster mode: joins the NATS bus now, so that a second daemon with our node id stops here.
  // An unreachable bus does not stop the start: local calls work, the link keeps trying.
  let cluster: Cluster | undefined;
  if (config.cluster) {
    // Loaded only in cluster mode: the NATS client and its crypto are ~4 MiB of a lone daemon's RSS.
    const { Cluster } = await import("./cluster/index.js");
    cluster = new Cluster(config.cluster, { nodeId: telemetry.nodeId, version: VERSION, router, supervisor, bus, logger });
    try {
      await cluster.start();
    } catch (e) {
      await cluster.close();
      await telemetry.stop("could not join the cluster");
      throw e;
    }
    router.cluster = cluster;
  }
  const watcher = new ManifestWatcher(config.manifestsDir, {
    upsert: (file, text) => supervisor.upsert(file, text),
    remove: (file) => void supervisor.remove(file),
  });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const pidFile = join(config.dataDir, "bkg.pid");
  let surface: ControlSurface | undefined;

  let markLoaded!: () => void;
  const loaded = new Promise<void>((r) => (markLoaded = r));
  const daemon: Daemon = {
    loaded,
    version: VERSION,
    startedAt,
    config,
    supervisor,
    router,
    bus,
    telemetry,
    tracer,
    otlp,
    models,
    cluster,
    logger,
    stopped,
    shutdown(reason: string) {
      stopping ??= (async () => {
        logger.info({ reason }, `daemon stopping: ${reason}`);
        // Other nodes stop sending calls first; the ones in flight here finish while plugins drain.
        cluster?.leave();
        await surface?.close();
        await models.close();
        await watcher.close();
        await supervisor.stopAll("daemon shutting down");
        await cluster?.close();
        await socket.close();
        detachLogFiles();
        logFiles.close();
        await telemetry.stop(reason);
        await otlp?.shutdown();
        rmSync(pidFile, { force: true });
        logger.info("daemon stopped");
        logger.flush?.();
        resolveStopped();
      })();
      return stopping;
    },
  };

  const socket = new SocketServer(daemon);
  await socket.listen().catch(async (e) => {
    await cluster?.close();
    throw e;
  });
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  telemetry.start(supervisor);
  supervisor.reapOrphans();
  await watcher.start();
  markLoaded();
  // Plugins first: loading HTTP, WebSocket and gRPC takes the event loop for a while, and the
  // plugins' handshakes should not queue behind it. The surface follows once they are ready,
  // or after 1.5 s at most.
  const starting = supervisor.startAll();
  // While the plugins start (they have been spawned by now), compile what checking their
  // paramsSchemas needs, so that their handshakes do not wait for it — unless earlier starts left
  // them compiled in the schema cache, when ajv may not be needed at all.
  if (supervisor.hosts.size && supervisor.schemaCache.isEmpty()) setImmediate(prepareSchemaChecks);
  await Promise.all([...supervisor.hosts.values()].filter((h) => h.manifest.activation === "eager" && h.state !== "idle").map((h) => h.waitReady(AbortSignal.timeout(1500)).catch(() => undefined)));
  // A port in use stops the start here, plugins and all.
  surface = await startControlSurface(daemon).catch(async (e) => {
    await starting.catch(() => undefined);
    await watcher.close();
    await supervisor.stopAll("the control surface could not start");
    await cluster?.close();
    await socket.close();
    rmSync(pidFile, { force: true });
    throw e;
  });
  await starting;
  supervisor.startSampling();
  logger.info({ socket: config.socketPath, manifests: config.manifestsDir, version: VERSION }, `bkg ${VERSION} listening on ${config.socketPath}`);
  return daemon;
}
