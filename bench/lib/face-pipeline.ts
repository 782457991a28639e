/**
 * The faces scenario's baseline: the same YuNet + SFace pipeline as plugins/rustyface, written
 * in TypeScript and run in-process on onnxruntime-node (same ONNX Runtime 1.30 library, same
 * thread count). PNG decoding included (zlib), so both sides start from the file's bytes.
 */
import { inflateSync } from "node:zlib";
import * as ort from "onnxruntime-node";

export interface Rgb {
  width: number;
  height: number;
  data: Uint8Array;
}
export interface Face {
  box: number[];
  score: number;
  landmarks: number[][];
}

/** 8-bit RGB/RGBA non-interlaced PNG (astronaut.png is one). */
export function decodePng(file: Buffer): Rgb {
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 3;
  const idat: Buffer[] = [];
  while (pos < file.length) {
    const len = file.readUInt32BE(pos);
    const type = file.toString("ascii", pos + 4, pos + 8);
    const body = file.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      channels = body[9] === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(body);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const off = y * (stride + 1) + 1;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      let p = raw[off + x];
      if (filter === 1) p += a;
      else if (filter === 2) p += b;
      else if (filter === 3) p += (a + b) >> 1;
      else if (filter === 4) {
        const e = a + b - c;
        const pa = Math.abs(e - a),
          pb = Math.abs(e - b),
          pc = Math.abs(e - c);
        p += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = p & 0xff;
    }
  }
  if (channels === 3) return { width, height, data: px };
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(px.subarray(i * 4, i * 4 + 3), i * 3);
  return { width, height, data };
}

function sample(img: Rgb, x: number, y: number, c: number): number {
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const fx = x - x0,
    fy = y - y0;
  const p = (xi: number, yi: number) => (xi < 0 || yi < 0 || xi >= img.width || yi >= img.height ? 0 : img.data[(yi * img.width + xi) * 3 + c]);
  return (p(x0, y0) * (1 - fx) + p(x0 + 1, y0) * fx) * (1 - fy) + (p(x0, y0 + 1) * (1 - fx) + p(x0 + 1, y0 + 1) * fx) * fy;
}

export class FacePipeline {
  private constructor(
    private detector: ort.InferenceSession,
    private recognizer: ort.InferenceSession,
  ) {}

  static async load(detectorFile: string, recognizerFile: string, threads: number): Promise<FacePipeline> {
    const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3 };
    return new FacePipeline(await ort.InferenceSession.create(detectorFile, opts), await ort.InferenceSession.create(recognizerFile, opts));
  }

  async detect(img: Rgb, scoreThreshold = 0.9, nms = 0.3): Promise<Face[]> {
    const S = 640;
    const scale = Math.min(1, S / img.width, S / img.height);
    const nw = Math.min(S, Math.round(img.width * scale)),
      nh = Math.min(S, Math.round(img.height * scale));
    const sx = img.width / nw,
      sy = img.height / nh;
    const input = new Float32Array(3 * S * S);
    for (let y = 0; y < nh; y++) {
      const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
      for (let x = 0; x < nw; x++) {
        const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
        const i = y * S + x;
        input[i] = sample(img, fx, fy, 2);
        input[S * S + i] = sample(img, fx, fy, 1);
        input[2 * S * S + i] = sample(img, fx, fy, 0);
      }
    }
    const out = await this.detector.run({ input: new ort.Tensor("float32", input, [1, 3, S, S]) });
    const faces: Face[] = [];
    for (const stride of [8, 16, 32]) {
      const cls = out[`cls_${stride}`].data as Float32Array,
        obj = out[`obj_${stride}`].data as Float32Array;
      const bbox = out[`bbox_${stride}`].data as Float32Array,
        kps = out[`kps_${stride}`].data as Float32Array;
      const cols = S / stride;
      for (let i = 0; i < cols * cols; i++) {
        const score = Math.sqrt(Math.min(Math.max(cls[i], 0), 1) * Math.min(Math.max(obj[i], 0), 1));
        if (score < scoreThreshold) continue;
        const col = i % cols,
          row = Math.floor(i / cols);
        const cx = (col + bbox[i * 4]) * stride,
          cy = (row + bbox[i * 4 + 1]) * stride;
        const w = Math.exp(bbox[i * 4 + 2]) * stride,
          h = Math.exp(bbox[i * 4 + 3]) * stride;
        const landmarks = [0, 1, 2, 3, 4].map((k) => [((col + kps[i * 10 + 2 * k]) * stride) / scale, ((row + kps[i * 10 + 2 * k + 1]) * stride) / scale]);
        faces.push({ box: [(cx - w / 2) / scale, (cy - h / 2) / scale, w / scale, h / scale], score, landmarks });
      }
    }
    faces.sort((a, b) => b.score - a.score);
    const kept: Face[] = [];
    for (const f of faces) if (kept.every((k) => iou(k.box, f.box) <= nms)) kept.push(f);
    return kept;
  }

  async embed(img: Rgb, face: Face): Promise<Float32Array> {
    const T = [
      [38.2946, 51.6963],
      [73.5318, 51.5014],
      [56.0252, 71.7366],
      [41.5493, 92.3655],
      [70.7299, 92.2041],
    ];
    const src = face.landmarks;
    const ms = [src.reduce((s, p) => s + p[0], 0) / 5, src.reduce((s, p) => s + p[1], 0) / 5];
    const md = [T.reduce((s, p) => s + p[0], 0) / 5, T.reduce((s, p) => s + p[1], 0) / 5];
    let dot = 0,
      cross = 0,
      norm = 0;
    for (let k = 0; k < 5; k++) {
      const xs = src[k][0] - ms[0],
        ys = src[k][1] - ms[1],
        xd = T[k][0] - md[0],
        yd = T[k][1] - md[1];
      dot += xs * xd + ys * yd;
      cross += xs * yd - ys * xd;
      norm += xs * xs + ys * ys;
    }
    const a = dot / norm,
      b = cross / norm;
    const tx = md[0] - (a * ms[0] - b * ms[1]),
      ty = md[1] - (b * ms[0] + a * ms[1]);
    // Inverse of [[a, -b, tx], [b, a, ty]].
    const det = a * a + b * b;
    const ia = a / det,
      ib = b / det;
    const input = new Float32Array(3 * 112 * 112);
    for (let v = 0; v < 112; v++) {
      for (let u = 0; u < 112; u++) {
        const x = ia * (u - tx) + ib * (v - ty),
          y = -ib * (u - tx) + ia * (v - ty);
        const i = v * 112 + u;
        for (let c = 0; c < 3; c++) input[c * 112 * 112 + i] = sample(img, x, y, c);
      }
    }
    const out = await this.recognizer.run({ data: new ort.Tensor("float32", input, [1, 3, 112, 112]) });
    const f = out[this.recognizer.outputNames[0]].data as Float32Array;
    const n = Math.hypot(...f);
    return f.map((x) => x / n);
  }

  /** Only the two session.run calls on ready tensors: the floor under any pipeline. */
  async modelsOnly(): Promise<void> {
    await this.detector.run({ input: new ort.Tensor("float32", new Float32Array(3 * 640 * 640), [1, 3, 640, 640]) });
    await this.recognizer.run({ data: new ort.Tensor("float32", new Float32Array(3 * 112 * 112), [1, 3, 112, 112]) });
  }

  async release(): Promise<void> {
    await this.detector.release();
    await this.recognizer.release();
  }
}

function iou(a: number[], b: number[]): number {
  const w = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}
