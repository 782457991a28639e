/**
 * A lossless WebP (VP8L, RFC 9649) writer for tests that need a WebP file of a real photo: no
 * npm package or PyPI wheel here ships one, and no encoder is installed. It is the simplest valid
 * VP8L stream, not a small one: no transforms, no colour cache, no backward references; green,
 * red and blue each use a fixed 8-bit prefix code (every value 8 bits long), alpha is a one-symbol
 * code (255, opaque). The pixels are exactly the input's, so a decoder must give them back.
 */
import type { Rgb } from "./png.js";

/** Bits written least significant first, as VP8L reads them. */
class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      this.acc |= ((value >>> i) & 1) << this.n;
      if (++this.n === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
  }

  /** A prefix code's bits go out first bit of the code first (as in DEFLATE). */
  writeCode(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.write((code >>> i) & 1, 1);
  }

  finish(): Buffer {
    if (this.n > 0) this.bytes.push(this.acc);
    return Buffer.from(this.bytes);
  }
}

/** The order in which the code-length code's own lengths are stored (RFC 9649 3.7.2.1.2). */
const CODE_LENGTH_ORDER = [17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * A "normal" prefix code over `alphabet` symbols where 0..255 are 8 bits long and the rest unused.
 * Its code lengths are sent with a code-length code of two 1-bit symbols: 0 (bit 0) and 8 (bit 1).
 */
function writeEightBitCode(w: BitWriter, alphabet: number): void {
  w.write(0, 1); // normal, not simple
  const lastNeeded = CODE_LENGTH_ORDER.indexOf(8); // 11: lengths for order[0..11] are sent
  w.write(lastNeeded + 1 - 4, 4);
  for (let i = 0; i <= lastNeeded; i++) w.write(CODE_LENGTH_ORDER[i] === 0 || CODE_LENGTH_ORDER[i] === 8 ? 1 : 0, 3);
  w.write(0, 1); // max_symbol = the whole alphabet
  for (let s = 0; s < alphabet; s++) w.writeCode(s < 256 ? 1 : 0, 1);
}

/** A "simple" prefix code with one symbol: reading it takes no bits. */
function writeOneSymbolCode(w: BitWriter, symbol: number): void {
  w.write(1, 1); // simple
  w.write(0, 1); // one symbol
  if (symbol < 2) {
    w.write(0, 1);
    w.write(symbol, 1);
  } else {
    w.write(1, 1);
    w.write(symbol, 8);
  }
}

/** Encodes 8-bit RGB pixels as a lossless WebP file (RIFF / WEBP / VP8L). */
export function encodeWebpLossless(img: Rgb): Buffer {
  const { width, height, data } = img;
  if (width < 1 || height < 1 || width > 16384 || height > 16384) throw new Error(`VP8L holds 1..16384 pixels a side, not ${width}x${height}`);
  const w = new BitWriter();
  w.write(0x2f, 8); // VP8L signature
  w.write(width - 1, 14);
  w.write(height - 1, 14);
  w.write(0, 1); // alpha_is_used: no
  w.write(0, 3); // version 0
  w.write(0, 1); // no transform
  w.write(0, 1); // no colour cache
  w.write(0, 1); // no meta prefix codes: one group for the whole image
  writeEightBitCode(w, 256 + 24); // green + length prefixes (no colour cache)
  writeEightBitCode(w, 256); // red
  writeEightBitCode(w, 256); // blue
  writeOneSymbolCode(w, 255); // alpha: always opaque
  writeOneSymbolCode(w, 0); // distance: never used
  for (let p = 0; p < width * height; p++) {
    w.writeCode(data[p * 3 + 1], 8); // green
    w.writeCode(data[p * 3], 8); // red
    w.writeCode(data[p * 3 + 2], 8); // blue
  }
  const vp8l = w.finish();
  const pad = vp8l.length % 2;
  const header = Buffer.alloc(20);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(4 + 8 + vp8l.length + pad, 4);
  header.write("WEBP", 8, "ascii");
  header.write("VP8L", 12, "ascii");
  header.writeUInt32LE(vp8l.length, 16);
  return Buffer.concat([header, vp8l, Buffer.alloc(pad)]);
}
