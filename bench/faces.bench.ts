/**
 * Scenario: faces. Latency per image of rustyface.detect and detect+embed (rustyface.embed)
 * through the bus (client -> daemon socket -> the Rust plugin) against the same models run
 * in-process on onnxruntime-node with the same pipeline in TypeScript, one thread each, in the
 * same run. Target (issue 15): at most 1.15x.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootDaemon } from "./lib/daemon.js";
import { FacePipeline, decodePng } from "./lib/face-pipeline.js";
import { ROOT } from "./lib/paths.js";
import type { Row, Scenario, TargetCheck } from "./lib/scenario.js";
import { unavailable } from "./lib/scenario.js";
import { ratio, summarize } from "./lib/stats.js";

const THREADS = 1;
const RUSTYFACE_DIR = join(ROOT, "plugins", "rustyface");
const BIN = join(RUSTYFACE_DIR, "target", "release", "rustyface");

interface ModelRecord { files: { detector: string; recognizer: string } }

/** The yunet-sface model folder the tests prepared (the same cache, same fold). */
async function modelsDir(): Promise<string> {
  // @ts-expect-error: a plain .mjs module of the test setup
  const fixtures = (await import("../../test/setup/face-fixtures.mjs")) as { ensureFaceFiles(): string; FACES_CACHE: string };
  fixtures.ensureFaceFiles();
  const helper = join(ROOT, "dist", "models", "prepare", "fold-dequantize.js");
  const dir = join(fixtures.FACES_CACHE, "models");
  if (!existsSync(join(dir, "yunet-sface", "model.json"))) {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const { foldDequantize } = (await import(helper)) as { foldDequantize(b: Uint8Array): { bytes: Uint8Array } };
    mkdirSync(join(dir, "yunet-sface"), { recursive: true });
    const fold = (src: string, dst: string) => writeFileSync(join(dir, "yunet-sface", dst), foldDequantize(readFileSync(join(fixtures.FACES_CACHE, src))).bytes);
    fold("face_detection_yunet_2023mar_int8bq.onnx", "face_detection_yunet_2023mar.f32.onnx");
    fold("face_recognition_sface_2021dec_int8bq.onnx", "face_recognition_sface_2021dec.f32.onnx");
    writeFileSync(join(dir, "yunet-sface", "model.json"), JSON.stringify({ name: "yunet-sface", format: "onnx", files: { detector: "face_detection_yunet_2023mar.f32.onnx", recognizer: "face_recognition_sface_2021dec.f32.onnx" } }));
  }
  return dir;
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
    if (!existsSync(BIN)) return unavailable(`plugins/rustyface is not built (${BIN}); run node test/setup/ensure-tools.mjs or cargo build --release in plugins/rustyface`);
    const models = await modelsDir();
    // @ts-expect-error: a plain .mjs module of the test setup
    const { FACES_CACHE } = (await import("../../test/setup/face-fixtures.mjs")) as { FACES_CACHE: string };
    const png = readFileSync(join(FACES_CACHE, "astronaut.png"));
    const b64 = png.toString("base64");
    const record = JSON.parse(readFileSync(join(models, "yunet-sface", "model.json"), "utf8")) as ModelRecord;
    const inproc = await FacePipeline.load(join(models, "yunet-sface", record.files.detector), join(models, "yunet-sface", record.files.recognizer), THREADS);
    const daemon = await bootDaemon({
      manifests: {
        rustyface: {
          name: "rustyface", version: "0.1.0", command: [BIN], cwd: RUSTYFACE_DIR,
          provides: ["detect", "embed"], timeouts: { call: 60_000 },
          config: { modelsDir: models, threads: THREADS },
        },
      },
    });
    try {
      await daemon.waitReady(["rustyface"], 60_000);
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
