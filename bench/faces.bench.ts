/**
 * Scenario: faces. Latency per image of rustyface.detect and detect+embed (rustyface.embed)
 * through the bus (client -> daemon socket -> the Rust plugin) against the same models run
 * in-process on onnxruntime-node with the same pipeline in TypeScript, one thread each, in the
 * same run. Target (issue 15): at most 1.15x.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bootDaemon, shippedManifest } from "./lib/daemon.js";
import { FacePipeline, decodePng } from "./lib/face-pipeline.js";
import { ROOT } from "./lib/paths.js";
import { benchModelsDir, cargoTargetDir } from "./lib/test-models.js";
import type { Row, Scenario, TargetCheck } from "./lib/scenario.js";
import { ratio, summarize } from "./lib/stats.js";

const THREADS = 1;
const RUSTYFACE_DIR = join(ROOT, "plugins", "rustyface");

interface ModelRecord {
  files: { detector: string; recognizer: string };
}

/** The shipped manifest with its cargo build step (into the tests' shared target folder), one thread. */
function rustyfaceManifest(modelsDir: string): Record<string, unknown> {
  const m = shippedManifest("rustyface");
  const build = m.build as Record<string, unknown>;
  return {
    ...m,
    cwd: RUSTYFACE_DIR,
    build: { ...build, env: { CARGO_TARGET_DIR: cargoTargetDir("rustyface"), CARGO_TERM_COLOR: "never" } },
    // Tests and benches wait for it to be ready; the shipped manifest starts it on the first call.
    activation: "eager",
    watch: [],
    timeouts: { call: 60_000 },
    config: { ...(m.config as object), modelsDir, threads: THREADS },
  };
}

async function timeIt(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export const scenario: Scenario = {
  name: "faces",
  title: "Faces (rustyface vs in-process onnxruntime-node)",
  async run(ctx) {
    // The model from the store's test cache (pulled and folded by the store if missing), the
    // photo from the face fixtures' cache; the plugin is built by its manifest's build step.
    const models = await benchModelsDir(["yunet-sface"], (l) => ctx.log(`faces: ${l}`));
    // @ts-expect-error: a plain .mjs module of the test setup
    const fixtures = (await import("../../test/setup/face-fixtures.mjs")) as { ensureFaceFiles(): string; FACES_CACHE: string };
    fixtures.ensureFaceFiles();
    const png = readFileSync(join(fixtures.FACES_CACHE, "astronaut.png"));
    const b64 = png.toString("base64");
    const record = JSON.parse(readFileSync(join(models, "yunet-sface", "model.json"), "utf8")) as ModelRecord;
    const inproc = await FacePipeline.load(join(models, "yunet-sface", record.files.detector), join(models, "yunet-sface", record.files.recognizer), THREADS);
    const daemon = await bootDaemon({ manifests: { rustyface: rustyfaceManifest(models) } });
    ctx.log("faces: waiting for rustyface (its manifest's cargo build: minutes the first time)");
    try {
      await daemon.waitReady(["rustyface"], 30 * 60_000);
      const perRun = ctx.quick ? 10 : 30;
      const warm = 5;
      const cases = {
        detect: {
          bus: () => daemon.client.call("rustyface.detect", { image: b64 }),
          local: async () => inproc.detect(decodePng(png)),
        },
        "detect+embed": {
          bus: () => daemon.client.call("rustyface.embed", { image: b64 }),
          local: async () => {
            const img = decodePng(png);
            return Promise.all((await inproc.detect(img)).map((f) => inproc.embed(img, f)));
          },
        },
      };
      const rows: Row[] = [];
      const targets: TargetCheck[] = [];
      for (const [name, c] of Object.entries(cases)) {
        await timeIt(warm, c.bus);
        await timeIt(warm, c.local);
        const bus: number[] = [];
        const local: number[] = [];
        // Interleaved runs, so drift in the machine's load hits both sides alike.
        for (let r = 0; r < ctx.runs; r++) {
          bus.push(...(await timeIt(perRun / ctx.runs + 1, c.bus)));
          local.push(...(await timeIt(perRun / ctx.runs + 1, c.local)));
        }
        const b = summarize(bus);
        const l = summarize(local);
        const x = ratio(b, l);
        rows.push({ case: `${name}, astronaut.png 512x512`, subject: "rustyface via the bus", metrics: [{ label: "ms per image", summary: b, digits: 1 }], vs: `${x.toFixed(2)}x in-process` });
        rows.push({ case: `${name}, astronaut.png 512x512`, subject: "onnxruntime-node in-process", metrics: [{ label: "ms per image", summary: l, digits: 1 }] });
        targets.push({ target: `${name}: bus <= 1.15x in-process`, met: x <= 1.15, detail: `${b.median.toFixed(1)} ms vs ${l.median.toFixed(1)} ms = ${x.toFixed(2)}x` });
        ctx.log(`faces: ${name} ${b.median.toFixed(1)} ms vs ${l.median.toFixed(1)} ms`);
      }
      // The floor: the two models alone (session.run on ready tensors, YuNet + SFace), no image work.
      await timeIt(warm, () => inproc.modelsOnly());
      const floor = summarize(await timeIt(perRun, () => inproc.modelsOnly()));
      rows.push({ case: "YuNet + SFace session.run only", subject: "onnxruntime-node in-process", metrics: [{ label: "ms per image", summary: floor, digits: 1 }] });
      return {
        available: true,
        rows,
        targets,
        notes: [
          `${THREADS} ONNX Runtime thread on both sides; both load the libonnxruntime.so.1 of onnxruntime-node 1.30.0 and start from the PNG file's bytes (the bus side sends them base64 in JSON).`,
          "The in-process side is bench/lib/face-pipeline.ts: the same letterbox, YuNet decoding, NMS, alignment and SFace steps in TypeScript.",
          "A ratio below 1 means the Rust plugin's image work (decode, letterbox, warp) costs less than the same work in TypeScript by more than the bus adds; the models-only row is the floor both sides share.",
        ],
      };
    } finally {
      await inproc.release();
      await daemon.stop();
    }
  },
};
