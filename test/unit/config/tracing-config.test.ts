/** telemetry.tracing and telemetry.otlp: defaults, nested merge, environment, bad values named. */
import t from "tap";
import { configLoader, configProblems } from "../../helpers/config.js";

t.test("defaults: tracing on at ratio 1, no export", async (t) => {
  const { load } = configLoader(t, "bkg-tracing-");
  const c = load(undefined);
  t.same(c.telemetry.tracing, { enabled: true, sampleRatio: 1, bufferTraces: 1000, spansPerTrace: 200 });
  t.equal(c.telemetry.otlp, undefined);
});

t.test("the file merges into the defaults, one level down too", async (t) => {
  const { load } = configLoader(t, "bkg-tracing-");
  const c = load({ telemetry: { flushMs: 1000, tracing: { sampleRatio: 0.25 }, otlp: { endpoint: "http://127.0.0.1:4318/v1/traces", queueSize: 10 } } });
  t.same(c.telemetry.tracing, { enabled: true, sampleRatio: 0.25, bufferTraces: 1000, spansPerTrace: 200 });
  t.match(c.telemetry.otlp, { endpoint: "http://127.0.0.1:4318/v1/traces", queueSize: 10, batchSize: 512, delayMs: 1000, timeoutMs: 10_000, headers: {} });
  t.equal(c.telemetry.flushMs, 1000);
});

t.test("environment: BKG_TRACING_ENABLED, BKG_TRACING_SAMPLE_RATIO, BKG_OTLP_ENDPOINT", async (t) => {
  const { load } = configLoader(t, "bkg-tracing-");
  const c = load(undefined, { BKG_TRACING_ENABLED: "false", BKG_TRACING_SAMPLE_RATIO: "0.1", BKG_OTLP_ENDPOINT: "https://otel.example/v1/traces" });
  t.equal(c.telemetry.tracing.enabled, false);
  t.equal(c.telemetry.tracing.sampleRatio, 0.1);
  t.equal(c.telemetry.otlp?.endpoint, "https://otel.example/v1/traces");
  t.match(
    configProblems(() => load(undefined, { BKG_TRACING_SAMPLE_RATIO: "ten percent" })),
    /BKG_TRACING_SAMPLE_RATIO="ten percent" is not a valid number/,
  );
});

t.test("bad values are named with their path", async (t) => {
  const { load } = configLoader(t, "bkg-tracing-");
  t.match(
    configProblems(() => load({ telemetry: { tracing: { sampleRatio: 1.5 } } })),
    /\/telemetry\/tracing\/sampleRatio/,
  );
  t.match(
    configProblems(() => load({ telemetry: { tracing: { bufferTraces: 0 } } })),
    /\/telemetry\/tracing\/bufferTraces/,
  );
  t.match(
    configProblems(() => load({ telemetry: { otlp: { endpoint: "127.0.0.1:4318" } } })),
    /\/telemetry\/otlp\/endpoint/,
  );
  t.match(
    configProblems(() => load({ telemetry: { otlp: { endpoint: "http://x", protocol: "grpc" } } })),
    /\/telemetry\/otlp/,
  );
});
