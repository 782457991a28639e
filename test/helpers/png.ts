/**
 * A small PNG codec for tests that need to change an image (mirror, resize) or make odd ones
 * (1x1, a header claiming 20000x20000): 8-bit RGB/RGBA, non-interlaced, zlib from Node.
 */
import { deflateSync, inflateSync } from "node:zlib";

export interface Rgb {
  width: number;
  height: number;
  /** width * height * 3 bytes, row by row. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** The IHDR of an 8-bit RGB image of any declared size. */
export function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([SIGNATURE, chunk("IHDR", ihdr)]);
}

/**
 * A PNG that declares width x height but carries only a few rows of pixel data: what a
 * decompression bomb or a cut-off huge image looks like to a decoder reading the header.
 */
export function pngClaiming(width: number, height: number): Buffer {
  const rows = Buffer.alloc(4 * (width * 3 + 1)); // four black rows, filter "none"
  return Buffer.concat([pngHeader(width, height), chunk("IDAT", deflateSync(rows)), chunk("IEND", new Uint8Array(0))]);
}

export function encodePng(img: Rgb): Buffer {
  const stride = img.width * 3;
  const raw = Buffer.alloc((stride + 1) * img.height);
  for (let y = 0; y < img.height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(img.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([pngHeader(img.width, img.height), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0))]);
}

export function decodePng(file: Buffer): Rgb {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG");
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
      if (body[8] !== 8 || body[12] !== 0 || (body[9] !== 2 && body[9] !== 6)) throw new Error("only 8-bit non-interlaced RGB/RGBA PNGs");
      channels = body[9] === 6 ? 4 : 3;
    } else if (type === "IDAT") idat.push(body);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      let p = line[x];
      if (filter === 1) p += a;
      else if (filter === 2) p += b;
      else if (filter === 3) p += (a + b) >> 1;
      else if (filter === 4) {
        const e = a + b - c;
        const [pa, pb, pc] = [Math.abs(e - a), Math.abs(e - b), Math.abs(e - c)];
        p += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pixels[y * stride + x] = p & 0xff;
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = pixels[i * channels + k];
  return { width, height, data };
}

export function mirror(img: Rgb): Rgb {
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const from = (y * img.width + x) * 3;
      const to = (y * img.width + (img.width - 1 - x)) * 3;
      data.set(img.data.subarray(from, from + 3), to);
    }
  }
  return { ...img, data };
}

/** Bilinear resize to width x height. */
export function resize(img: Rgb, width: number, height: number): Rgb {
  const data = new Uint8Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      for (let k = 0; k < 3; k++) {
        const p = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 3 + k];
        const top = p(x0, y0) * (x1 === x0 ? 1 : x1 - fx) + (x1 === x0 ? 0 : p(x1, y0) * (fx - x0));
        const bottom = p(x0, y1) * (x1 === x0 ? 1 : x1 - fx) + (x1 === x0 ? 0 : p(x1, y1) * (fx - x0));
        data[(y * width + x) * 3 + k] = Math.round(y1 === y0 ? top : top * (y1 - fy) + bottom * (fy - y0));
      }
    }
  }
  return { width, height, data };
}
