/**
 * Text to token ids for a BERT-style model, truncated to the model's limit with the closing
 * special token ([SEP]) kept. @huggingface/tokenizers reads tokenizer.json but ignores its
 * truncation and padding sections, so both are done here (padding per batch, in the embedder).
 */
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

export interface Encoded {
  ids: number[];
  /** Tokens the text had before truncation, [CLS] and [SEP] included. */
  fullLength: number;
}

/**
 * Characters of text tokenized first for a long input, per token of the limit. A BERT word piece
 * is rarely shorter than 1 character, so a prefix this long almost always holds enough tokens;
 * when it does not, the whole text is tokenized.
 */
const PREFIX_CHARS_PER_TOKEN = 12;

export class TextTokenizer {
  private readonly tokenizer: Tokenizer;

  /** Reads tokenizer.json synchronously; throws if it is not a tokenizer file. */
  constructor(
    tokenizerPath: string,
    /** Longest sequence in tokens, special tokens included. */
    readonly maxTokens: number,
  ) {
    this.tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")), {});
  }

  /**
   * Token ids with [CLS] ... [SEP], at most maxTokens long. A long text is tokenized from a
   * prefix cut at whitespace: BERT's pre-tokenizer splits there, so the prefix's tokens are the
   * first tokens of the whole text and the result is identical, at a fraction of the cost for a
   * 5,000-word input. `fullLength` is then a lower bound.
   */
  encode(text: string): Encoded {
    const limitChars = this.maxTokens * PREFIX_CHARS_PER_TOKEN;
    if (text.length > limitChars) {
      const cut = text.slice(0, limitChars).search(/\s\S*$/);
      if (cut > 0) {
        const ids = this.tokenizer.encode(text.slice(0, cut)).ids;
        if (ids.length > this.maxTokens) return { ids: this.truncate(ids), fullLength: ids.length };
      }
    }
    const ids = this.tokenizer.encode(text).ids;
    return { ids: ids.length > this.maxTokens ? this.truncate(ids) : ids, fullLength: ids.length };
  }

  /** The first maxTokens - 1 ids, then the sequence's closing special token. */
  private truncate(ids: number[]): number[] {
    const out = ids.slice(0, this.maxTokens - 1);
    out.push(ids[ids.length - 1]);
    return out;
  }
}
