/**
 * A prompt's token count, without tokenizing the prompt on the way to the first token when the
 * count cannot change what is generated. LlamaChat tokenizes the prompt itself; counting it
 * here first as well doubled that work before the first token (llama.cpp's tokenizer costs
 * about 1.5 us of CPU per byte here: 0.45 ms for the bench's 110-character prompt, ~3 ms for a
 * prompt of 2,000 bytes). The count matters before generating only when the prompt could come
 * near the end of the context (the 400 for a prompt that does not fit, max_tokens cut to the
 * room left); a cheap upper bound tells when it cannot, and then the exact count is taken while
 * the model decodes (`countSoon`), for the answer's usage.
 */
import type { LlamaModel, LlamaText } from "node-llama-cpp";

/**
 * Tokenizers where every token covers at least one byte of the text: byte-level BPE ("gpt2")
 * and SentencePiece ("llama", whose byte fallback makes a character at most its bytes, plus the
 * one space it may put in front). Others (T5's, say) normalise first, which can lengthen text.
 */
const BYTE_BOUNDED = new Set(["gpt2", "llama"]);

export class PromptTokens {
  private count?: number;
  private scheduled = false;
  /** At least the prompt's token count (Infinity when the tokenizer gives no such bound). */
  readonly bound: number;

  constructor(
    private readonly text: LlamaText,
    private readonly model: LlamaModel,
  ) {
    this.bound = BYTE_BOUNDED.has(model.fileInfo.metadata.tokenizer?.ggml?.model) ? upperBound(text) : Number.POSITIVE_INFINITY;
  }

  /** The exact count (tokenized once, then kept). */
  exact(): number {
    this.count ??= this.text.tokenize(this.model.tokenizer).length;
    return this.count;
  }

  /**
   * Counts on a timer: node-llama-cpp dispatches the next decode with setImmediate, which runs
   * first, so the tokenizing happens on this thread while llama.cpp decodes on its own. A call
   * that ended meanwhile (cancelled, failed) needs no count: a failure here is dropped, and an
   * answer that needs the count takes it with exact().
   */
  countSoon(): void {
    if (this.count !== undefined || this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      try {
        this.exact();
      } catch {
        /* the call is over, or exact() will say why */
      }
    }, 0);
  }
}

/** Bytes of text, plus one per value (a special token, or a leading space a tokenizer adds). */
function upperBound(text: LlamaText): number {
  let n = 0;
  for (const v of text.values) n += 1 + (typeof v === "string" ? Buffer.byteLength(v) : "value" in v && typeof v.value === "string" ? Buffer.byteLength(v.value) : 0);
  return n;
}
