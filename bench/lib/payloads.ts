/** The payloads: a ~100-byte JSON object, and a ~10 KB one for the pipelined case. */

export const SMALL = { id: 4711, user: "bench", tags: ["alpha", "beta", "gamma"], values: [1, 2, 3, 5, 8, 13], ok: true, ratio: 0.625 };

/** ~10 KB: 96 records of ~105 bytes each. */
export const LARGE = {
  items: Array.from({ length: 96 }, (_, i) => ({ id: i, name: `item-${String(i).padStart(4, "0")}`, tags: ["alpha", "beta", "gamma"], values: [i, i * 2, i * 3], price: i * 1.25, ok: i % 2 === 0 })),
};

export const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
